// nats_jetstream_consumer: durable pull consumer, fetch, Ack / NakWithDelay; see the header.
#include "consumers/nats_jetstream_consumer.hpp"

#include <nats/nats.h>

#include <chrono>
#include <future>

#include "core/log.hpp"
#include "core/redact.hpp"

namespace gyre::consumers {

namespace {

constexpr int fetch_batch = 100;
constexpr int64_t fetch_wait_ms = 1000;
constexpr int64_t ack_wait_ns = 30'000'000'000;

std::string status_text(natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  std::string t = natsStatus_GetText(s);
  if (const char* last = nats_GetLastError(nullptr); last && *last) t += std::string(": ") + last;
  if (jerr) t += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
  return t;
}

// Everything one connection holds; destroyed in reverse order of creation.
struct session {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  natsSubscription* sub = nullptr;
  ~session() {
    if (sub) natsSubscription_Destroy(sub);
    if (js) jsCtx_Destroy(js);
    if (nc) {
      natsConnection_Close(nc);
      natsConnection_Destroy(nc);
    }
  }
};

}  // namespace

nats_jetstream_consumer::nats_jetstream_consumer(boost::asio::io_context&,
                                                 config::nats_jetstream_consumer_config cfg,
                                                 std::string key, std::unique_ptr<dispatcher> d)
    : cfg_(std::move(cfg)), key_(std::move(key)), dispatcher_(std::move(d)) {}

nats_jetstream_consumer::~nats_jetstream_consumer() {
  stop();
}

std::string nats_jetstream_consumer::prepare() {
  if (cfg_.tls_.enabled_)
    return key_ + ".tls.enabled: TLS for the nats_jetstream consumer is not supported by Gyre yet";
  if (cfg_.subjects_.size() > 1)
    return key_ +
           ".subjects: the NATS client library Gyre uses filters one subject per consumer; "
           "give at most one (or a wildcard)";
  return {};
}

void nats_jetstream_consumer::start() {
  thread_ = std::thread([this] { run(); });
  log::write(spdlog::level::info, "consumer: running",
             {{"consumer", dispatcher_->name()},
              {"type", "nats_jetstream"},
              {"stream", cfg_.stream_name_},
              {"durable_consumer_name", cfg_.durable_consumer_name_}});
}

void nats_jetstream_consumer::stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
}

void nats_jetstream_consumer::run() {
  unsigned failures = 0;
  auto pause = [&](const std::string& what) {
    log::write(spdlog::level::err, "consumer: NATS JetStream",
               {{"consumer", dispatcher_->name()}, {"error", what}});
    auto until = std::chrono::steady_clock::now() +
                 std::max(retry_backoff(failures++), std::chrono::milliseconds(200));
    while (!stopping_.load() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  };
  while (!stopping_.load()) {
    session s;
    natsOptions* no = nullptr;
    if (natsOptions_Create(&no) != NATS_OK) {
      pause("cannot initialise the NATS library");
      continue;
    }
    natsOptions_SetURL(no, cfg_.url_.c_str());
    natsOptions_SetName(no, ("gyre consumer " + dispatcher_->name()).c_str());
    natsOptions_SetTimeout(no, 2000);
    natsOptions_SetAllowReconnect(no, true);
    natsOptions_SetMaxReconnect(no, -1);
    if (!cfg_.credentials_file_.empty())
      natsOptions_SetUserCredentialsFromFiles(no, cfg_.credentials_file_.c_str(), nullptr);
    else if (!cfg_.username_.empty())
      natsOptions_SetUserInfo(no, cfg_.username_.c_str(), cfg_.password_.c_str());
    else if (!cfg_.token_.empty())
      natsOptions_SetToken(no, cfg_.token_.c_str());
    natsStatus st = natsConnection_Connect(&s.nc, no);
    natsOptions_Destroy(no);
    if (st != NATS_OK) {
      pause("cannot connect to " + redact_url_passwords(cfg_.url_) + ": " + status_text(st));
      continue;
    }
    if ((st = natsConnection_JetStream(&s.js, s.nc, nullptr)) != NATS_OK) {
      pause("JetStream context: " + status_text(st));
      continue;
    }
    jsErrCode jerr = static_cast<jsErrCode>(0);
    if (cfg_.use_existing_consumer_) {
      jsConsumerInfo* ci = nullptr;
      st = js_GetConsumerInfo(&ci, s.js, cfg_.stream_name_.c_str(),
                              cfg_.durable_consumer_name_.c_str(), nullptr, &jerr);
      if (ci) jsConsumerInfo_Destroy(ci);
      if (st != NATS_OK) {
        pause("consumer \"" + cfg_.durable_consumer_name_ + "\" of stream \"" + cfg_.stream_name_ +
              "\" not found: " + status_text(st, jerr));
        continue;
      }
    } else {
      jsConsumerConfig cc;
      jsConsumerConfig_Init(&cc);
      cc.Name = cfg_.durable_consumer_name_.c_str();
      cc.Durable = cfg_.durable_consumer_name_.c_str();
      cc.DeliverPolicy = cfg_.deliver_policy_ == "all" ? js_DeliverAll : js_DeliverNew;
      cc.AckPolicy = js_AckExplicit;
      cc.AckWait = ack_wait_ns;
      cc.MaxAckPending = cfg_.max_ack_pending_;
      if (!cfg_.subjects_.empty()) cc.FilterSubject = cfg_.subjects_[0].c_str();
      jsConsumerInfo* ci = nullptr;
      st = js_AddConsumer(&ci, s.js, cfg_.stream_name_.c_str(), &cc, nullptr, &jerr);
      if (ci) jsConsumerInfo_Destroy(ci), ci = nullptr;
      if (st != NATS_OK) {
        // It exists with another configuration: update what may change.
        jsErrCode jerr2 = static_cast<jsErrCode>(0);
        st = js_UpdateConsumer(&ci, s.js, cfg_.stream_name_.c_str(), &cc, nullptr, &jerr2);
        if (ci) jsConsumerInfo_Destroy(ci);
        if (st != NATS_OK) {
          pause("cannot create consumer \"" + cfg_.durable_consumer_name_ + "\" on stream \"" +
                cfg_.stream_name_ + "\": " + status_text(st, jerr2 ? jerr2 : jerr));
          continue;
        }
      }
    }
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = cfg_.stream_name_.c_str();
    so.Consumer = cfg_.durable_consumer_name_.c_str();
    so.ManualAck = true;
    const char* subject = cfg_.subjects_.empty() ? "" : cfg_.subjects_[0].c_str();
    st = js_PullSubscribe(&s.sub, s.js, subject, cfg_.durable_consumer_name_.c_str(), nullptr, &so,
                          &jerr);
    if (st != NATS_OK) {
      pause("cannot bind to consumer \"" + cfg_.durable_consumer_name_ +
            "\": " + status_text(st, jerr));
      continue;
    }
    failures = 0;
    while (!stopping_.load()) {
      // What is available now, up to a batch, without waiting; when nothing is, wait for
      // the next single message (a blocking batch would hold the first message until the
      // batch fills or the wait ends: tens of ms of latency at a low rate).
      natsMsgList list{};
      jsFetchRequest req;
      jsFetchRequest_Init(&req);
      req.Batch = fetch_batch;
      req.NoWait = true;
      req.Expires = fetch_wait_ms * 1'000'000;
      st = natsSubscription_FetchRequest(&list, s.sub, &req);
      if (st == NATS_NOT_FOUND || st == NATS_TIMEOUT || (st == NATS_OK && list.Count == 0)) {
        natsMsgList_Destroy(&list);
        list = {};
        st = natsSubscription_Fetch(&list, s.sub, 1, fetch_wait_ms, &jerr);
      }
      if (st == NATS_TIMEOUT) continue;
      if (st != NATS_OK) {
        natsMsgList_Destroy(&list);
        if (natsConnection_IsClosed(s.nc)) break;
        pause("fetch: " + status_text(st, jerr));
        continue;
      }
      for (int i = 0; i < list.Count; ++i) {
        natsMsg* m = list.Msgs[i];
        std::string id = cfg_.stream_name_;
        uint64_t delivered = 1;
        jsMsgMetaData* md = nullptr;
        if (natsMsg_GetMetaData(&md, m) == NATS_OK && md) {
          id += "/" + std::to_string(md->Sequence.Stream);
          delivered = md->NumDelivered;
          jsMsgMetaData_Destroy(md);
        }
        message_meta meta;
        const char** keys = nullptr;
        int nkeys = 0;
        std::vector<std::string> values;
        if (natsMsgHeader_Keys(m, &keys, &nkeys) == NATS_OK) {
          values.reserve(static_cast<size_t>(nkeys));
          for (int k = 0; k < nkeys; ++k) {
            const char* v = nullptr;
            values.emplace_back(natsMsgHeader_Get(m, keys[k], &v) == NATS_OK && v ? v : "");
          }
          for (int k = 0; k < nkeys; ++k) meta.items.emplace_back(keys[k], values[k]);
        }
        std::string_view body(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m)));
        decoded d = cfg_.publication_data_mode_.enabled_
                        ? decode_publication(cfg_.publication_data_mode_, meta, body)
                        : decode_command(meta.get(cfg_.method_header_).value_or(""), body);
        free(const_cast<char**>(keys));
        std::promise<result> p;
        auto f = p.get_future();
        dispatcher_->run(d, id, [&p](result r) { p.set_value(std::move(r)); });
        result r = f.get();
        if (r.kind == outcome::retry) {
          auto delay = retry_backoff(static_cast<unsigned>(std::min<uint64_t>(delivered, 16)) - 1);
          natsMsg_NakWithDelay(m, delay.count(), nullptr);
        } else {
          natsMsg_Ack(m, nullptr);
        }
      }
      natsMsgList_Destroy(&list);
    }
  }
}

}  // namespace gyre::consumers
