// recovery: the subscribe-time stream decision and the merge of buffered events; see
// recovery.hpp and docs/design/connection-state-machine.md.
#include "hub/recovery.hpp"

#include <algorithm>
#include <numeric>

#include "protocol/fossil.hpp"
#include "protocol/tags_filter.hpp"

namespace gyre::recovery {

namespace {

bool passes(const request& req, const publication& p) {
  return req.filter == nullptr || req.filter->matches(p.tags);
}

// First publication whole, each later one a patch against the one before it in `pubs`
// (which holds exactly what the client receives), when the patch is worth sending.
void encode_deltas(std::vector<publication>& pubs, protocol::encoding enc) {
  if (pubs.size() < 2) return;
  std::string prev = pubs.front().data;
  for (size_t i = 1; i < pubs.size(); ++i) {
    publication& p = pubs[i];
    std::string full = p.data;
    std::string patch = protocol::fossil_delta(prev, full, protocol::delta_alignment::utf8);
    const bool usable = enc == protocol::encoding::json
                            ? protocol::json_delta_sendable(patch, full.size())
                            : protocol::delta_worth_sending(patch.size(), full.size());
    if (usable) {
      p.data = std::move(patch);
      p.delta = true;
    }
    prev = std::move(full);
  }
}

}  // namespace

std::optional<history_query> query_for(const request& req, uint32_t recovery_limit,
                                       int64_t meta_ttl_seconds) {
  if (!req.positioned && !req.recoverable) return std::nullopt;
  history_query q;
  q.meta_ttl_seconds = meta_ttl_seconds;
  if (req.recover && req.cache_mode) {
    // The newest publication; with a tags filter the newest one that passes it, so read
    // back as far as a recovery may go.
    q.reverse = true;
    q.limit = req.filter ? static_cast<int32_t>(recovery_limit) : 1;
  } else if (req.recover) {
    // The epoch is compared here, not by the engine: a different epoch is "not
    // recovered", not an error.
    q.since = stream_position{req.since.offset, ""};
    q.limit = static_cast<int32_t>(recovery_limit);
  } else {
    q.limit = 0;  // the stream position only
  }
  return q;
}

result<outcome> decide(const request& req, history_page page) {
  outcome out;
  const stream_position& top = page.top;
  out.epoch = top.epoch;
  out.epoch_on_first = page.epoch_on_first;
  out.reply_offset = top.offset;
  out.position = top;
  if (!req.recover || (!req.positioned && !req.recoverable)) return out;

  out.was_recovering = true;
  const bool epoch_ok = req.since.epoch.empty() || req.since.epoch == top.epoch;
  auto& pubs = page.publications;
  if (req.cache_mode) {
    // Newest first; the newest that passes the filter is the one to send.
    const publication* newest = nullptr;
    for (const publication& p : pubs) {
      if (passes(req, p)) {
        newest = &p;
        break;
      }
    }
    // The client holds the newest state only with the stream's own epoch: unlike stream
    // mode, a missing epoch is not taken as a match (Centrifugo's cache recovery).
    const bool at_top = req.since.epoch == top.epoch && req.since.offset == top.offset;
    out.recovered = newest != nullptr || (req.since.offset > 0 && at_top);
    if (out.recovered && newest && !at_top) {
      out.publications.push_back(*newest);
      out.reply_offset = req.since.offset;
    }
  } else {
    if (!epoch_ok) {
      out.recovered = false;
    } else if (pubs.empty()) {
      out.recovered = req.since.offset == top.offset;
    } else {
      out.recovered =
          pubs.front().offset == req.since.offset + 1 && pubs.back().offset == top.offset;
    }
    if (out.recovered) {
      out.reply_offset = req.since.offset;
      for (publication& p : pubs)
        if (passes(req, p)) out.publications.push_back(std::move(p));
    }
  }
  if (!out.recovered && req.reject_unrecoverable) return errors::unrecoverable_position;

  // `delta` on a stored publication is the publisher's permission; in a reply it means
  // "this data is a patch".
  for (publication& p : out.publications) p.delta = false;
  if (req.delta && !out.publications.empty()) {
    encode_deltas(out.publications, req.encoding);
    // A live patch is made against the stream's previous publication: usable only when
    // that is the last one the client got.
    out.delta_ready = out.recovered && out.publications.back().offset == top.offset;
  }
  return out;
}

merge_plan merge(const stream_position& position, bool positioned,
                 std::span<const buffered_event> events) {
  merge_plan plan;
  plan.position = position;
  const auto n = static_cast<uint32_t>(events.size());
  plan.deliver.reserve(n);
  if (!positioned) {
    for (uint32_t i = 0; i < n; ++i) plan.deliver.push_back(i);
    return plan;
  }
  // Publications of the stream go by offset; joins, leaves and publications without an
  // offset keep their place among the events.
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::vector<uint32_t> slots;
  for (uint32_t i = 0; i < n; ++i)
    if (events[i].is_publication && events[i].offset > 0) slots.push_back(i);
  std::vector<uint32_t> by_offset = slots;
  std::stable_sort(by_offset.begin(), by_offset.end(),
                   [&](uint32_t a, uint32_t b) { return events[a].offset < events[b].offset; });
  for (size_t k = 0; k < slots.size(); ++k) order[slots[k]] = by_offset[k];

  static const std::string no_epoch;
  for (uint32_t i : order) {
    const buffered_event& e = events[i];
    if (!e.is_publication || e.offset == 0) {
      plan.deliver.push_back(i);
      continue;
    }
    const std::string& epoch = e.epoch ? *e.epoch : no_epoch;
    if (epoch != plan.position.epoch) {
      if (!plan.position.epoch.empty()) {
        plan.lost_continuity = true;
        break;
      }
      plan.position.epoch = epoch;
    }
    if (e.offset <= plan.position.offset) continue;  // in the reply already, or a duplicate
    if (e.offset > plan.position.offset + 1) {
      plan.lost_continuity = true;  // a publication is missing
      break;
    }
    plan.deliver.push_back(i);
    plan.position.offset = e.offset;
  }
  return plan;
}

}  // namespace gyre::recovery
