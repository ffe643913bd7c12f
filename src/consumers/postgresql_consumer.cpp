// postgresql_consumer: libpq connections, the per-partition transaction, LISTEN wake-up;
// see the header.
#include "consumers/postgresql_consumer.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "consumers/postgresql_outbox.hpp"
#include "core/log.hpp"

namespace gyre::consumers {

using namespace std::chrono_literals;

namespace {

struct result_deleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using pg_result = std::unique_ptr<PGresult, result_deleter>;

// How long stop() waits for a command in flight before leaving its row to the next run.
constexpr auto stop_grace = 2s;

log::limiter& error_site() {
  static log::limiter site(5);
  return site;
}

std::string first_line(const char* s) {
  std::string out = s ? s : "";
  if (auto nl = out.find('\n'); nl != std::string::npos) out.resize(nl);
  return out;
}

// Connects to `dsn` (a key=value string or a URI), with a 5 s connect timeout unless the
// DSN sets one. Blocking: called on the consumer's own thread only.
PGconn* connect(const std::string& dsn) {
  const char* keys[] = {"connect_timeout", "dbname", nullptr};
  const char* values[] = {"5", dsn.c_str(), nullptr};
  return PQconnectdbParams(keys, values, 1);
}

}  // namespace

struct postgresql_consumer::impl {
  config::postgresql_consumer_config cfg;
  std::string key;
  std::unique_ptr<dispatcher> disp;
  std::string select_sql;
  std::string delete_sql;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::chrono::steady_clock::time_point stop_requested{};
  int wake_fd = -1;
  PGconn* conn = nullptr;
  PGconn* listen = nullptr;
  std::mutex cancel_mu;
  PGcancel* cancel = nullptr;  // of `conn`, for stop() to interrupt a lock wait
  unsigned failures = 0;
  unsigned retries = 0;

  enum class pass { empty, full, retry, failed };

  ~impl() {
    drop_conn();
    drop_listen();
    if (wake_fd >= 0) ::close(wake_fd);
  }

  const std::string& name() const { return disp->name(); }

  void drop_conn() {
    {
      std::lock_guard lk(cancel_mu);
      if (cancel) PQfreeCancel(cancel);
      cancel = nullptr;
    }
    if (conn) PQfinish(conn);
    conn = nullptr;
  }

  void drop_listen() {
    if (listen) PQfinish(listen);
    listen = nullptr;
  }

  bool ensure_conn() {
    if (conn && PQstatus(conn) == CONNECTION_OK) return true;
    drop_conn();
    PGconn* c = connect(cfg.dsn_);
    if (PQstatus(c) != CONNECTION_OK) {
      log::limited(error_site(), spdlog::level::err,
                   "consumer {}: cannot connect to PostgreSQL: {}", name(),
                   first_line(PQerrorMessage(c)));
      PQfinish(c);
      return false;
    }
    conn = c;
    std::lock_guard lk(cancel_mu);
    cancel = PQgetCancel(conn);
    return true;
  }

  // The LISTEN connection, when a notification channel is configured; polling goes on
  // without it when it cannot be made.
  void ensure_listen() {
    if (cfg.partition_notification_channel_.empty()) return;
    if (listen && PQstatus(listen) == CONNECTION_OK) return;
    drop_listen();
    const std::string& dsn =
        cfg.partition_notification_dsn_.empty() ? cfg.dsn_ : cfg.partition_notification_dsn_;
    PGconn* c = connect(dsn);
    if (PQstatus(c) != CONNECTION_OK) {
      log::limited(error_site(), spdlog::level::warn,
                   "consumer {}: cannot connect for LISTEN (polling only): {}", name(),
                   first_line(PQerrorMessage(c)));
      PQfinish(c);
      return;
    }
    const auto& ch = cfg.partition_notification_channel_;
    char* quoted = PQescapeIdentifier(c, ch.c_str(), ch.size());
    std::string sql = std::string("LISTEN ") + (quoted ? quoted : "\"\"");
    if (quoted) PQfreemem(quoted);
    pg_result r(PQexec(c, sql.c_str()));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      log::limited(error_site(), spdlog::level::warn, "consumer {}: LISTEN failed: {}", name(),
                   first_line(PQresultErrorMessage(r.get())));
      PQfinish(c);
      return;
    }
    listen = c;
  }

  // Takes the notifications libpq has read; whether there was any.
  bool take_notifications() {
    bool notified = false;
    while (PGnotify* note = PQnotifies(listen)) {
      notified = true;
      PQfreemem(note);
    }
    return notified;
  }

  // Waits `d`, or less: until stop() or a notification.
  void wait(std::chrono::milliseconds d) {
    if (listen && take_notifications()) return;
    auto deadline = std::chrono::steady_clock::now() + d;
    while (!stopping) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return;
      pollfd fds[2] = {{wake_fd, POLLIN, 0}, {-1, POLLIN, 0}};
      if (listen) fds[1].fd = PQsocket(listen);
      int n = ::poll(fds, fds[1].fd >= 0 ? 2 : 1, static_cast<int>(left.count()));
      if (n <= 0 || stopping) continue;
      if (fds[1].fd >= 0 && fds[1].revents) {
        if (!PQconsumeInput(listen)) {
          log::limited(error_site(), spdlog::level::warn, "consumer {}: LISTEN connection lost: {}",
                       name(), first_line(PQerrorMessage(listen)));
          drop_listen();
          return;
        }
        if (take_notifications()) return;
      }
    }
  }

  bool command(const char* sql) {
    pg_result r(PQexec(conn, sql));
    if (PQresultStatus(r.get()) == PGRES_COMMAND_OK) return true;
    report(r.get(), sql);
    return false;
  }

  void report(const PGresult* r, std::string_view what) {
    log::limited(error_site(), spdlog::level::err, "consumer {}: {}: {}", name(), what,
                 first_line(r ? PQresultErrorMessage(r) : PQerrorMessage(conn)));
  }

  // Runs one row's command and waits for its outcome (a retry when stopping outlasts the
  // grace period: the row stays for the next run).
  result run_and_wait(const decoded& d, const std::string& message_id) {
    struct state {
      std::mutex mu;
      std::condition_variable cv;
      std::optional<result> res;
    };
    auto st = std::make_shared<state>();
    disp->run(d, message_id, [st](result r) {
      std::lock_guard lk(st->mu);
      st->res = std::move(r);
      st->cv.notify_all();
    });
    std::unique_lock lk(st->mu);
    while (!st->res) {
      st->cv.wait_for(lk, 100ms);
      if (!st->res && stopping && std::chrono::steady_clock::now() - stop_requested > stop_grace)
        return {outcome::retry, "stopping"};
    }
    return *st->res;
  }

  decoded decode_row(const PGresult* rows, int i) const {
    decoded skip;
    std::string_view method;
    if (!PQgetisnull(rows, i, 1)) {
      auto m = pg_outbox::read_text(PQftype(rows, 1),
                                    {PQgetvalue(rows, i, 1), size_t(PQgetlength(rows, i, 1))});
      if (!m) {
        skip.skip_reason = "the method column is not of type text or varchar";
        return skip;
      }
      method = *m;
    }
    if (PQgetisnull(rows, i, 2)) {
      skip.skip_reason = "the payload is NULL";
      return skip;
    }
    auto payload = pg_outbox::read_text(PQftype(rows, 2),
                                        {PQgetvalue(rows, i, 2), size_t(PQgetlength(rows, i, 2))});
    if (!payload) {
      skip.skip_reason = "the payload column is not of type jsonb, json, bytea or text";
      return skip;
    }
    return decode_command(method, *payload);
  }

  pass process(int64_t partition) {
    if (!command("BEGIN ISOLATION LEVEL READ COMMITTED")) return pass::failed;
    std::string lock_key = pg_outbox::lock_key(name(), partition);
    const char* lock_args[] = {lock_key.c_str()};
    const char* lock_sql = cfg.use_try_lock_ ? "SELECT pg_try_advisory_xact_lock(hashtext($1))"
                                             : "SELECT pg_advisory_xact_lock(hashtext($1))";
    pg_result lock(PQexecParams(conn, lock_sql, 1, nullptr, lock_args, nullptr, nullptr, 0));
    if (PQresultStatus(lock.get()) != PGRES_TUPLES_OK) {
      report(lock.get(), "advisory lock");
      return pass::failed;
    }
    if (cfg.use_try_lock_ && std::string_view(PQgetvalue(lock.get(), 0, 0)) != "t")
      return command("ROLLBACK") ? pass::empty : pass::failed;

    std::string p = std::to_string(partition);
    std::string limit = std::to_string(cfg.partition_select_limit_);
    const char* select_args[] = {p.c_str(), limit.c_str()};
    pg_result rows(
        PQexecParams(conn, select_sql.c_str(), 2, nullptr, select_args, nullptr, nullptr, 1));
    if (PQresultStatus(rows.get()) != PGRES_TUPLES_OK) {
      report(rows.get(), "select from " + cfg.outbox_table_name_);
      return pass::failed;
    }
    int n = PQntuples(rows.get());
    std::vector<int64_t> done;
    bool retry = false;
    for (int i = 0; i < n && !stopping; ++i) {
      auto id = PQgetisnull(rows.get(), i, 0)
                    ? std::nullopt
                    : pg_outbox::read_id(
                          PQftype(rows.get(), 0),
                          {PQgetvalue(rows.get(), i, 0), size_t(PQgetlength(rows.get(), i, 0))});
      if (!id) {
        log::limited(error_site(), spdlog::level::err,
                     "consumer {}: the id column of {} is not a bigint or integer", name(),
                     cfg.outbox_table_name_);
        disp->count_error();
        retry = true;
        break;
      }
      decoded d = decode_row(rows.get(), i);
      result res = run_and_wait(d, cfg.outbox_table_name_ + "/" + p + "/" + std::to_string(*id));
      if (res.kind == outcome::retry) {
        retry = true;
        break;
      }
      done.push_back(*id);
    }
    rows.reset();
    if (!done.empty()) {
      std::string ids = pg_outbox::id_array(done);
      const char* delete_args[] = {ids.c_str()};
      pg_result del(
          PQexecParams(conn, delete_sql.c_str(), 1, nullptr, delete_args, nullptr, nullptr, 0));
      if (PQresultStatus(del.get()) != PGRES_COMMAND_OK) {
        report(del.get(), "delete from " + cfg.outbox_table_name_);
        return pass::failed;
      }
    }
    if (!command("COMMIT")) return pass::failed;
    if (retry) return pass::retry;
    return n >= cfg.partition_select_limit_ ? pass::full : pass::empty;
  }

  // After a failed statement: roll back what is open, drop a broken connection.
  void recover() {
    if (!conn) return;
    if (PQstatus(conn) != CONNECTION_OK) return drop_conn();
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
      pg_result r(PQexec(conn, "ROLLBACK"));
      if (PQstatus(conn) != CONNECTION_OK) drop_conn();
    }
  }

  void run() {
    auto poll_interval = std::max<std::chrono::milliseconds>(
        1ms, std::chrono::duration_cast<std::chrono::milliseconds>(cfg.partition_poll_interval_));
    while (!stopping) {
      if (!ensure_conn()) {
        disp->count_error();
        wait(retry_backoff(failures++));
        continue;
      }
      ensure_listen();
      bool full = false, retry = false, failed = false;
      for (int64_t p = 0; p < cfg.num_partitions_ && !stopping; ++p) {
        pass r = process(p);
        if (r == pass::failed) {
          failed = true;
          recover();
          break;
        }
        full |= r == pass::full;
        retry |= r == pass::retry;
      }
      if (stopping) break;
      if (failed) {
        wait(retry_backoff(failures++));
        continue;
      }
      failures = 0;
      if (retry) {
        wait(retry_backoff(retries++));
        continue;
      }
      retries = 0;
      if (!full) wait(poll_interval);
    }
    drop_conn();
    drop_listen();
  }
};

postgresql_consumer::postgresql_consumer(config::postgresql_consumer_config cfg, std::string key,
                                         std::unique_ptr<dispatcher> d)
    : impl_(std::make_unique<impl>()) {
  impl_->cfg = std::move(cfg);
  impl_->key = std::move(key);
  impl_->disp = std::move(d);
}

postgresql_consumer::~postgresql_consumer() {
  stop();
}

std::string postgresql_consumer::prepare() {
  const auto& c = impl_->cfg;
  const auto& key = impl_->key;
  if (!pg_outbox::valid_table_name(c.outbox_table_name_))
    return key + ".outbox_table_name: \"" + c.outbox_table_name_ +
           "\" is not a table name Gyre accepts (letters, digits, _ and $, optionally "
           "schema.table, unquoted)";
  if (c.tls_.enabled_)
    return key +
           ".tls: not supported by Gyre; set sslmode, sslrootcert, sslcert and sslkey in the dsn";
  for (auto [name, dsn] : {std::pair<const char*, const std::string*>{"dsn", &c.dsn_},
                           {"partition_notification_dsn", &c.partition_notification_dsn_}}) {
    if (dsn->empty()) continue;
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(dsn->c_str(), &err);
    if (!opts) {
      std::string why = err ? first_line(err) : "cannot be parsed";
      if (err) PQfreemem(err);
      return key + "." + name + ": " + why;
    }
    PQconninfoFree(opts);
  }
  impl_->select_sql = pg_outbox::select_sql(c.outbox_table_name_);
  impl_->delete_sql = pg_outbox::delete_sql(c.outbox_table_name_);
  impl_->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl_->wake_fd < 0) return key + ": cannot create an eventfd";
  return {};
}

void postgresql_consumer::start() {
  log::write(spdlog::level::info, "consumer: running",
             {{"consumer", impl_->name()},
              {"type", "postgresql"},
              {"table", impl_->cfg.outbox_table_name_},
              {"partitions", impl_->cfg.num_partitions_}});
  impl_->thread = std::thread([im = impl_.get()] { im->run(); });
}

void postgresql_consumer::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->stop_requested = std::chrono::steady_clock::now();
  impl_->stopping = true;
  uint64_t one = 1;
  [[maybe_unused]] auto w = ::write(impl_->wake_fd, &one, sizeof one);
  {
    // Interrupts a statement in progress (an advisory lock another node holds).
    std::lock_guard lk(impl_->cancel_mu);
    char buf[256];
    if (impl_->cancel) PQcancel(impl_->cancel, buf, sizeof buf);
  }
  impl_->thread.join();
}

}  // namespace gyre::consumers
