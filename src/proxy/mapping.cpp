// mapping: see mapping.hpp.
#include "proxy/mapping.hpp"

namespace gyre::proxy {

status refusal_of(const outcome& o) {
  if (o.failed != failure::none) return errors::internal;
  const reply& a = o.answer;
  if (a.disconnect && a.disconnect->first != 0)
    return gyre::disconnect{a.disconnect->first, a.disconnect->second};
  if (a.error && a.error->code != 0)
    return protocol_error{a.error->code, a.error->message, a.error->temporary};
  if (a.disconnect || a.error) return errors::internal;  // code 0: nothing to send
  return ok_v;
}

}  // namespace gyre::proxy
