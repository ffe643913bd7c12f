// presence_manager: who is subscribed to a channel, cluster-wide (engines.md §1, §3, §4.4).
// Same asynchronous callback contract as broker.hpp: callbacks may run synchronously or
// on another thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/broker.hpp"
#include "core/publication.hpp"

namespace gyre {

struct presence_stats {
  uint32_t num_clients = 0;
  uint32_t num_users = 0;
};

using presence_map = std::vector<std::pair<std::string, client_info>>;  // client id -> info

class presence_manager {
 public:
  virtual ~presence_manager() = default;
  virtual void stop() = 0;
  // Adds or refreshes the entry of `info.client` in `channel`.
  virtual void add(std::string_view channel, const client_info& info, status_callback done) = 0;
  virtual void remove(std::string_view channel, std::string_view client_id, std::string_view user,
                      status_callback done) = 0;
  virtual void presence(std::string_view channel, callback<presence_map> done) = 0;
  virtual void stats(std::string_view channel, callback<presence_stats> done) = 0;
};

}  // namespace gyre
