// proto_json: converts GRPC API messages to the JSON the API executor reads and its JSON
// results back, so that each method has one implementation (src/api/executor.*) for both
// front ends. Driven by the messages' descriptors: a field's JSON name is its proto name.
//
// Bytes fields (docs/grpc-api.md):
//  * in a request, a bytes field X with a string sibling b64X (data/b64data, info/b64info)
//    is passed as b64X = base64(bytes), unless b64X is set (it wins, as in the HTTP API):
//    the executor gets the exact bytes, JSON or not. A bytes field without such a sibling
//    (refresh's info, rpc's params) must be JSON; otherwise to_params fails (error 107).
//  * in a result, a bytes field gets the exact JSON text of its value.
//
// Threading: any thread; from_result uses a parser local to the calling thread.
#pragma once

#include <string>

namespace google::protobuf {
class Message;
}

namespace gyre::grpc_api {

// Appends the JSON object for `m` to `out`; false when a bytes field that must be JSON is not.
bool to_params(const google::protobuf::Message& m, std::string& out);

// Fills `m` from the JSON object `json` (members without a field of that name are skipped);
// false when `json` is not such an object or a value has the wrong type. `json` may be
// grown by the parser's padding.
bool from_result(std::string& json, google::protobuf::Message& m);

}  // namespace gyre::grpc_api
