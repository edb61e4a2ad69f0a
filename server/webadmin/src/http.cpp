// HTTP side of the web admin: routes, the page's files, authentication, CSRF protection and the
// event stream. The operations themselves are in service.cpp.
#include <fmt/core.h>
#include <httplib.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "assets.hpp"
#include "guarded_server.hpp"
#include "plant_services.hpp"
#include "protos7/server/log.hpp"
#include "protos7/version.hpp"
#include "protos7/webadmin/webadmin.hpp"
#include "service.hpp"

namespace protos7::webadmin {

namespace {

using httplib::Request;
using httplib::Response;
using server::log;
using server::log_level;

constexpr const char* csrf_header = "X-Protos7-CSRF";
constexpr const char* token_cookie = "protos7_token";
// JSON bodies nested deeper than this are refused before parsing (the parser recurses).
constexpr std::size_t max_json_depth = 32;
constexpr std::size_t max_json_values = 4096;  // in a request body other than an import
// GET /api/plc/requests: default and largest limit.
constexpr std::size_t default_request_limit = 50;
// An idle event stream sends a comment this often, so a vanished client is noticed.
constexpr std::chrono::seconds keepalive_interval{5};

std::string random_token(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  std::size_t got = 0;
  while (got < bytes) {
    const ssize_t n = ::getrandom(buf.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(fmt::format("getrandom: {}", std::strerror(errno)));
    }
    got += static_cast<std::size_t>(n);
  }
  std::string s;
  for (const unsigned char c : buf) s += fmt::format("{:02x}", c);
  return s;
}

// Compares without an early exit, so the time does not tell how much of a guess was right.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff = static_cast<unsigned char>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void send(Response& res, const reply& r) {
  res.status = r.status;
  res.set_header("Cache-Control", "no-store");
  if (!r.content_type.empty()) {
    if (!r.filename.empty())
      res.set_header("Content-Disposition", fmt::format("attachment; filename=\"{}\"", r.filename));
    res.set_content(r.raw, r.content_type.c_str());
    return;
  }
  res.set_content(dump(r.body), "application/json");
}

void send_error(Response& res, int status, const std::string& message,
                const std::string& field = {}) {
  send(res, reply::error(status, message, field));
}

// Containers and members of a JSON text, counted without parsing it (strings skipped).
struct json_shape {
  std::size_t max_depth = 0;
  std::size_t values = 1;  // '[' '{' ',' each start one more value
};

json_shape shape_of(std::string_view s) {
  json_shape sh;
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      sh.max_depth = std::max(sh.max_depth, ++depth);
      ++sh.values;
    } else if (c == ',') {
      ++sh.values;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return sh;
}

bool json_too_deep(std::string_view s) {
  return shape_of(s).max_depth > max_json_depth;
}

bool has_content_type(const Request& req, std::string_view type) {
  const std::string ct = lower(req.get_header_value("Content-Type"));
  return ct == type || ct.starts_with(std::string(type) + ";");
}

// The request body as a JSON object, or an error reply already sent.
std::optional<json> json_body(const Request& req, Response& res) {
  if (!has_content_type(req, "application/json")) {
    send_error(res, 415, "send the body as JSON with the header Content-Type: application/json");
    return std::nullopt;
  }
  const json_shape sh = shape_of(req.body);
  if (sh.max_depth > max_json_depth) {
    send_error(res, 400,
               fmt::format("the JSON is nested more than {} levels deep", max_json_depth));
    return std::nullopt;
  }
  if (sh.values > max_json_values) {  // a document of many tiny values costs ~100 B per value
    send_error(res, 413,
               fmt::format("the JSON has more than {} values; no request of this API "
                           "needs as many (an import is read one variable at a time)",
                           max_json_values));
    return std::nullopt;
  }
  json j;
  try {
    j = json::parse(req.body);
  } catch (const json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
    std::string what = e.what();
    if (const auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    send_error(res, 400, fmt::format("malformed JSON: {}", what));
    return std::nullopt;
  }
  if (!j.is_object()) {
    send_error(res, 400, "the body must be a JSON object ({...})");
    return std::nullopt;
  }
  return j;
}

// A number from the path or the query; false (and a reply sent) when it is not one in range.
bool path_number(const std::string& text, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  if (text.empty() || text.size() > 18) return false;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && p == text.data() + text.size() && out >= lo && out <= hi;
}

std::optional<std::uint16_t> db_from_path(const Request& req, Response& res) {
  std::int64_t n = 0;
  if (!path_number(req.matches[2].str(), 1, 65535, n)) {
    send_error(res, 404,
               fmt::format("there is no DB{}: DB numbers are 1..65535",
                           req.matches[2].str().substr(0, 20)));
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(n);
}

std::optional<std::int64_t> id_from_path(const Request& req, Response& res) {
  std::int64_t n = 0;
  if (!path_number(req.matches[3].str(), 1, std::numeric_limits<std::int64_t>::max(), n)) {
    send_error(res, 404, "no variable has this id");
    return std::nullopt;
  }
  return n;
}

std::string sse_event(const char* name, const json& data) {
  return fmt::format("event: {}\ndata: {}\n\n", name, dump(data));
}

}  // namespace

server::status parse_listen(const std::string& listen, std::string& host, std::uint16_t& port) {
  std::string h;
  std::string p;
  if (!listen.empty() && listen.front() == '[') {
    const auto close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':')
      return server::status::failure(
          fmt::format("'{}': an IPv6 address is written [ADDR]:PORT", listen));
    h = listen.substr(1, close - 1);
    p = listen.substr(close + 2);
  } else if (const auto colon = listen.rfind(':'); colon != std::string::npos) {
    h = listen.substr(0, colon);
    p = listen.substr(colon + 1);
  } else {
    h = "127.0.0.1";
    p = listen;
  }
  if (h.empty())
    return server::status::failure(fmt::format(
        "'{}': give the address to listen on, e.g. 127.0.0.1:8080 or 0.0.0.0:8080", listen));
  std::int64_t n = 0;
  if (!path_number(p, 0, 65535, n))
    return server::status::failure(fmt::format("'{}': the port must be a number 0..65535", listen));
  host = h;
  port = static_cast<std::uint16_t>(n);
  return {};
}

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  return host.starts_with("127.") && std::all_of(host.begin(), host.end(), [](char c) {
           return (c >= '0' && c <= '9') || c == '.';
         });
}

struct stream_state {
  service* svc = nullptr;  // the PLC the stream watches
  std::optional<std::uint16_t> db;
  bool first = true;
  std::uint64_t catalog_gen = 0;
  std::string last_values;
  std::string last_status;
  bool missing_sent = false;
  std::chrono::steady_clock::time_point last_send = std::chrono::steady_clock::now();
};

struct webadmin::impl {
  options opt;
  std::string host;
  std::uint16_t port = 0;
  bool loopback = true;
  std::string token;
  std::string csrf;
  std::vector<std::string> allowed_hosts;  // Host headers accepted without a token (DNS rebinding)
  std::unique_ptr<service> svc;            // one PLC (`protos7 serve`)
  std::unique_ptr<plant_services> plant;   // a plant (`protos7 serve --plant`)
  std::atomic<std::size_t> streams{0};     // open event streams
  guarded_server http;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool running = false;

  impl(options o, server::server& srv, server::plc_memory& mem, const server::config& cfg)
      : opt(std::move(o)) {
    init();
    svc = std::make_unique<service>(opt, srv, mem, cfg);
    srv.set_observer(&svc->monitor());
    routes();
  }

  impl(options o, server::plant& p) : opt(std::move(o)) {
    init();
    plant = std::make_unique<plant_services>(opt, p);
    routes();
  }

  void init() {
    if (const server::status s = parse_listen(opt.listen, host, port); !s)
      throw std::runtime_error("--webadmin-listen " + s.why());
    loopback = is_loopback(host);
    if (opt.no_auth && !loopback)
      throw std::runtime_error(
          fmt::format("--webadmin-no-auth is allowed on loopback addresses only, not on {}: remove "
                      "it (a token is generated)",
                      host));
    token = opt.token;
    if (token.empty() && !opt.no_auth) token = random_token(16);
    csrf = random_token(16);
  }

  [[nodiscard]] bool host_allowed(const Request& req) const {
    // Beyond loopback the token protects and any name of the host may be used; on loopback only
    // loopback names are (DNS rebinding), token or not.
    if (!token.empty() && !loopback) return true;
    const std::string h = lower(req.get_header_value("Host"));
    return std::find(allowed_hosts.begin(), allowed_hosts.end(), h) != allowed_hosts.end();
  }

  [[nodiscard]] bool authenticated(const Request& req) const {
    if (token.empty()) return true;
    const std::string auth = req.get_header_value("Authorization");
    if (auth.starts_with("Bearer ") && same_secret(auth.substr(7), token)) return true;
    // Cookie: a=b; protos7_token=...
    const std::string cookies = req.get_header_value("Cookie");
    const std::string key = std::string(token_cookie) + "=";
    std::size_t pos = 0;
    while (pos < cookies.size()) {
      const std::size_t end = std::min(cookies.find(';', pos), cookies.size());
      std::string_view c(cookies.data() + pos, end - pos);
      while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
      if (c.starts_with(key) && same_secret(c.substr(key.size()), token)) return true;
      pos = end + 1;
    }
    return false;
  }

  // Bodies are refused before they are read: a Content-Length over the limit (cpp-httplib 0.11
  // would read and discard it all), and chunked bodies (0.11 does not apply the limit to them;
  // browsers and the documented clients send a Content-Length; RFC 9112 §6.3 allows 411).
  bool body_refused(const Request& req, Response& res) {
    if (req.has_header("Transfer-Encoding")) {
      send_error(res, 411, "send the body with a Content-Length, not chunked");
      guarded_server::close_after_response();
      return true;
    }
    const std::string len = req.get_header_value("Content-Length");
    std::int64_t n = 0;
    if (len.empty()) return false;
    if (!path_number(len, 0, std::numeric_limits<std::int64_t>::max(), n)) {
      send_error(res, 400, "malformed Content-Length");
    } else if (static_cast<std::uint64_t>(n) > opt.max_body) {
      send_error(res, 413, fmt::format("the request body is larger than {} bytes", opt.max_body));
    } else {
      return false;
    }
    guarded_server::close_after_response();
    return true;
  }

  httplib::Server::HandlerResponse pre_route(const Request& req, Response& res) {
    if (body_refused(req, res)) return httplib::Server::HandlerResponse::Handled;
    if (!host_allowed(req)) {
      send_error(
          res, 403,
          fmt::format(
              "Host '{}' is not this server: open {} (names other than the loopback address are "
              "refused to stop DNS rebinding)",
              req.get_header_value("Host").substr(0, 60), url()));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!authenticated(req)) {
      // GET /?token=...: the page's login; the token becomes a cookie and leaves the address bar.
      if (req.method == "GET" && (req.path == "/" || req.path == "/index.html") &&
          req.has_param("token")) {
        if (same_secret(req.get_param_value("token"), token)) {
          res.status = 303;
          res.set_header("Location", "/");
          res.set_header("Set-Cookie", fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict",
                                                   token_cookie, token));
          res.set_header("Cache-Control", "no-store");
          return httplib::Server::HandlerResponse::Handled;
        }
      }
      if (req.path.starts_with("/api/")) {
        send_error(res, 401,
                   "this web admin needs its token: send the header Authorization: Bearer <token> "
                   "(the token is "
                   "printed when protos7 serve starts, or set with --webadmin-token-file / "
                   "PROTOS7_WEBADMIN_TOKEN)");
      } else {
        res.status = 401;
        res.set_header("Cache-Control", "no-store");
        res.set_content(
            // The icon link keeps the browser from asking for /favicon.ico, which would be
            // refused too and logged as a failed load.
            "<!doctype html><meta charset=utf-8><title>protos7: token required</title>"
            "<link rel=icon href=\"data:,\">"
            "<body style=\"font:16px system-ui;max-width:40em;margin:3em auto;padding:0 1em\">"
            "<h1>Token required</h1><p>This protos7 web admin needs the token in the address "
            "<code>protos7 serve</code> printed when it started (<code>web admin on "
            "http://...?token=...</code>), "
            "or the one given with <code>--webadmin-token-file</code> or "
            "<code>PROTOS7_WEBADMIN_TOKEN</code>.</p>"
            "<p>Open <code>http://&lt;this host&gt;/?token=&lt;token&gt;</code> "
            "once; the browser then keeps it in a cookie for this session.</p>",
            "text/html; charset=utf-8");
      }
      return httplib::Server::HandlerResponse::Handled;
    }
    const bool safe = req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS";
    if (!safe) {
      // CSRF: a cross-site page can make a browser send a request but cannot add this header
      // (it would need a CORS preflight, which is never granted), nor read the token.
      if (!same_secret(req.get_header_value(csrf_header), csrf)) {
        send_error(res, 403,
                   fmt::format("missing or wrong {} header: state-changing requests must carry the "
                               "CSRF token from "
                               "GET /api/session",
                               csrf_header));
        return httplib::Server::HandlerResponse::Handled;
      }
      // Defence in depth: a browser's Origin must be this server.
      const std::string origin = req.get_header_value("Origin");
      if (!origin.empty() && lower(origin) != "http://" + lower(req.get_header_value("Host"))) {
        send_error(res, 403,
                   fmt::format("cross-origin request from '{}' refused", origin.substr(0, 80)));
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  [[nodiscard]] std::string url() const {
    const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return fmt::format("http://{}:{}/", h == "0.0.0.0" || h == "[::]" ? "127.0.0.1" : h, port);
  }

  void serve_asset(const Request& req, Response& res, std::string_view name) {
    for (const embedded_asset& a : embedded_assets()) {
      if (a.path != name) continue;
      std::string body(reinterpret_cast<const char*>(a.data.data()), a.data.size());
      if (name == "index.html") {
        // The CSRF token travels in the page (a meta tag; the CSP forbids inline scripts).
        const std::string mark = "{{CSRF_TOKEN}}";
        if (const auto p = body.find(mark); p != std::string::npos)
          body.replace(p, mark.size(), csrf);
        res.set_header("Cache-Control", "no-store");
      } else {
        res.set_header("ETag", std::string(a.etag));
        res.set_header("Cache-Control", "no-cache");
        if (req.get_header_value("If-None-Match") == a.etag) {
          res.status = 304;
          return;
        }
      }
      res.set_content(body, std::string(a.mime).c_str());
      return;
    }
    send_error(res, 404, fmt::format("no such file: {}", std::string(name).substr(0, 60)));
  }

  // One look for changes on an event stream; false ends the stream.
  bool pump(stream_state& st, httplib::DataSink& sink) {
    if (stopping.load()) return false;
    std::string out;
    if (st.first) {
      out += "retry: 1000\n\n";  // EventSource reconnects after 1 s
    } else {
      std::unique_lock lock{stop_mu};
      if (stop_cv.wait_for(lock, opt.event_interval, [&] { return stopping.load(); })) return false;
    }
    st.first = false;
    const live_snapshot snap = st.svc->snapshot(st.db);
    if (!snap.ran) return !stopping.load();
    const std::uint64_t gen = st.svc->catalog_generation();
    if (gen != st.catalog_gen) {
      if (st.catalog_gen != 0) out += sse_event("catalog", {{"generation", gen}});
      st.catalog_gen = gen;
      st.last_values.clear();
    }
    if (st.db) {
      if (!snap.db_exists) {
        if (!st.missing_sent) out += sse_event("db-missing", {{"db", *st.db}});
        st.missing_sent = true;
        st.last_values.clear();
      } else {
        st.missing_sent = false;
        const std::string values = dump(st.svc->values_json(*st.db, snap.db_bytes));
        if (values != st.last_values) {
          out += fmt::format("event: values\ndata: {}\n\n", values);
          st.last_values = values;
        }
      }
    }
    const std::string status = dump({{"connections", snap.connections},
                                     {"requests_total", snap.requests_total},
                                     {"faults_total", snap.faults_total},
                                     {"traffic_generation", snap.traffic_generation},
                                     {"mode", snap.mode.empty() ? json() : json(snap.mode)}});
    if (status != st.last_status) {
      out += fmt::format("event: status\ndata: {}\n\n", status);
      st.last_status = status;
    }
    const auto now = std::chrono::steady_clock::now();
    if (out.empty() && now - st.last_send >= keepalive_interval) out = ": keep-alive\n\n";
    if (out.empty()) return true;
    st.last_send = now;
    return sink.write(out.data(), out.size());
  }

  void routes();
  void db_routes();
  void db_content_routes();
  void variable_routes();
  void plc_routes();
  void fault_routes();
  void process_routes();
  void event_routes();
  void plant_routes();
  void configure_http();
  void install_handlers();
  void page_routes();
  service* svc_for(const Request& req, Response& res);
};

// The HTTP server's socket options, limits, thread pool and security headers.
void webadmin::impl::configure_http() {
  // cpp-httplib's default also sets SO_REUSEPORT, which lets a second protos7 bind the same
  // port and receive half of the requests; only SO_REUSEADDR (restart while in TIME_WAIT).
  http.set_socket_options([](int sock) {
    const int one = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  });
  http.set_payload_max_length(opt.max_body);
  http.set_read_timeout(std::chrono::seconds(10));
  http.set_write_timeout(std::chrono::seconds(10));
  const std::size_t threads = opt.max_event_streams + 8;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_default_headers({
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src "
       "'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
  });
}

// Before routing, errors without a body, exceptions and the debug log of every request.
void webadmin::impl::install_handlers() {
  http.set_pre_routing_handler(
      [this](const Request& req, Response& res) { return pre_route(req, res); });
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([this](const Request& req, Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string msg;
        switch (res.status) {
          case 404:
            msg = fmt::format("no such endpoint: {} {} (see docs/API.md)", req.method,
                              req.path.substr(0, 80));
            break;
          case 413:
            msg = fmt::format("the request body is larger than {} bytes", opt.max_body);
            break;
          case 414:
            msg = "the request line is too long";
            break;
          case 400:
            msg = "malformed HTTP request";
            break;
          default:
            msg = fmt::format("HTTP {}", res.status);
            break;
        }
        send_error(res, res.status, msg);
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler([](const Request& req, Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log(log_level::error, "webadmin: {} {}: {}", req.method, req.path, what);
    send_error(res, 500, fmt::format("internal error: {}", what));
  });
  http.set_logger([](const Request& req, const Response& res) {
    log(log_level::debug, "webadmin: {} {} {} {}", req.remote_addr, req.method, req.path,
        res.status);
  });
}

// The page and the session (the limits and names the page needs).
void webadmin::impl::page_routes() {
  // --- the page ---
  http.Get("/", [this](const Request& req, Response& res) { serve_asset(req, res, "index.html"); });
  http.Get("/index.html",
           [this](const Request& req, Response& res) { serve_asset(req, res, "index.html"); });
  http.Get(R"(/assets/([A-Za-z0-9._-]+))", [this](const Request& req, Response& res) {
    serve_asset(req, res, req.matches[1].str());
  });

  // --- session ---
  http.Get("/api/session", [this](const Request&, Response& res) {
    send(res, reply::ok({{"version", protos7::version()},
                         {"csrf_header", csrf_header},
                         {"csrf_token", csrf},
                         {"auth", token.empty() ? "none" : "token"},
                         {"types", type_names()},
                         {"limits",
                          {{"max_db_size", max_db_size},
                           {"max_name_length", max_name_length},
                           {"max_description_length", max_description_length},
                           {"max_states", max_states},
                           {"max_string_length", max_string_length},
                           {"max_body", opt.max_body}}},
                         {"plant", plant ? plant->session_info() : json()}}));
  });
}

void webadmin::impl::routes() {
  configure_http();
  install_handlers();
  page_routes();
  db_routes();
  db_content_routes();
  variable_routes();
  plc_routes();
  fault_routes();
  process_routes();
  event_routes();
  plant_routes();
}

namespace {
// Every PLC route is "/api" + path for a single PLC and "/api/plcs/NAME" + path in a plant:
// match 1 is the PLC's name (empty without it), the route's own groups follow.
std::string api(std::string_view path) {
  return fmt::format(R"(/api(?:/plcs/([^/]+))?{})", path);
}
}  // namespace

service* webadmin::impl::svc_for(const Request& req, Response& res) {
  const std::string name = req.matches[1].str();
  if (!plant) {
    if (name.empty()) return svc.get();
    send_error(res, 404, "this protos7 serves one PLC: its API is /api/... (no /api/plcs/NAME)");
    return nullptr;
  }
  if (name.empty()) {
    send_error(res, 404,
               fmt::format("this protos7 serves a plant of {} PLCs: address one by its name, "
                           "/api/plcs/NAME{} (GET /api/plcs lists them)",
                           plant->size(), req.path.substr(4, 80)));
    return nullptr;
  }
  service* s = plant->find(name);
  if (s == nullptr)
    send_error(
        res, 404,
        fmt::format("the plant has no PLC \"{}\" (GET /api/plcs lists them)", name.substr(0, 64)));
  return s;
}

void webadmin::impl::db_routes() {
  http.Get(api("/dbs"), [this](const Request& req, Response& res) {
    if (service* s = svc_for(req, res)) send(res, s->list_dbs());
  });
  http.Post(api("/dbs"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    if (s == nullptr) return;
    if (const auto b = json_body(req, res)) send(res, s->create_db(*b));
  });
  http.Get(api("/dbs/([^/]+)"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    if (s == nullptr) return;
    if (const auto n = db_from_path(req, res)) send(res, s->get_db(*n));
  });
  http.Patch(api("/dbs/([^/]+)"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    const auto n = s == nullptr ? std::nullopt : db_from_path(req, res);
    if (!n) return;
    if (const auto b = json_body(req, res)) send(res, s->resize_db(*n, *b));
  });
  http.Delete(api("/dbs/([^/]+)"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    if (s == nullptr) return;
    if (const auto n = db_from_path(req, res)) send(res, s->delete_db(*n));
  });
}

// A DB's bytes and its variable table as a file.
void webadmin::impl::db_content_routes() {
  http.Get(api("/dbs/([^/]+)/bytes"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    const auto n = s == nullptr ? std::nullopt : db_from_path(req, res);
    if (!n) return;
    std::int64_t offset = 0;
    std::optional<std::size_t> length;
    if (req.has_param("offset") && !path_number(req.get_param_value("offset"), 0, 65535, offset))
      return send_error(res, 400, "offset must be a whole number 0..65535", "offset");
    if (req.has_param("length")) {
      std::int64_t l = 0;
      if (!path_number(req.get_param_value("length"), 0, 65536, l))
        return send_error(res, 400, "length must be a whole number 0..65536", "length");
      length = static_cast<std::size_t>(l);
    }
    send(res, s->read_bytes(*n, static_cast<std::size_t>(offset), length));
  });
  http.Get(api("/dbs/([^/]+)/export"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    const auto n = s == nullptr ? std::nullopt : db_from_path(req, res);
    if (!n) return;
    send(res, s->export_db(*n, req.has_param("format") ? req.get_param_value("format") : "json"));
  });
  http.Post(api("/dbs/([^/]+)/import"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    const auto n = s == nullptr ? std::nullopt : db_from_path(req, res);
    if (!n) return;
    std::string format = req.has_param("format") ? req.get_param_value("format") : "";
    if (format.empty()) {
      if (has_content_type(req, "application/json"))
        format = "json";
      else if (has_content_type(req, "text/csv"))
        format = "csv";
      else
        return send_error(
            res, 415,
            "send the table as Content-Type: text/csv or application/json (or ?format=csv|json)");
    }
    if (format == "json" && json_too_deep(req.body))
      return send_error(res, 400,
                        fmt::format("the JSON is nested more than {} levels deep", max_json_depth));
    send(res,
         s->import_db(*n, format, req.has_param("mode") ? req.get_param_value("mode") : "replace",
                      req.body));
  });
}

void webadmin::impl::variable_routes() {
  http.Get(api("/dbs/([^/]+)/variables"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    if (s == nullptr) return;
    if (const auto n = db_from_path(req, res)) send(res, s->list_variables(*n));
  });
  http.Post(api("/dbs/([^/]+)/variables"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    const auto n = s == nullptr ? std::nullopt : db_from_path(req, res);
    if (!n) return;
    if (const auto b = json_body(req, res)) send(res, s->create_variable(*n, *b));
  });
  http.Get(api("/dbs/([^/]+)/variables/([^/]+)"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    const auto n = s == nullptr ? std::nullopt : db_from_path(req, res);
    if (!n) return;
    if (const auto id = id_from_path(req, res)) send(res, s->get_variable(*n, *id));
  });
  http.Patch(api("/dbs/([^/]+)/variables/([^/]+)"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    const auto n = s == nullptr ? std::nullopt : db_from_path(req, res);
    const auto id = n ? id_from_path(req, res) : std::nullopt;
    if (!id) return;
    if (const auto b = json_body(req, res)) send(res, s->update_variable(*n, *id, *b));
  });
  http.Delete(api("/dbs/([^/]+)/variables/([^/]+)"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    const auto n = s == nullptr ? std::nullopt : db_from_path(req, res);
    if (!n) return;
    if (const auto id = id_from_path(req, res)) send(res, s->delete_variable(*n, *id));
  });
  http.Put(api("/dbs/([^/]+)/variables/([^/]+)/value"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    const auto n = s == nullptr ? std::nullopt : db_from_path(req, res);
    const auto id = n ? id_from_path(req, res) : std::nullopt;
    if (!id) return;
    if (const auto b = json_body(req, res)) send(res, s->set_value(*n, *id, *b));
  });
}

void webadmin::impl::plc_routes() {
  http.Get(api("/plc"), [this](const Request& req, Response& res) {
    if (service* s = svc_for(req, res)) send(res, s->plc_info());
  });
  http.Put(api("/plc/mode"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    if (s == nullptr) return;
    if (const auto b = json_body(req, res)) send(res, s->set_mode(*b));
  });
  http.Put(api("/plc/clock"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    if (s == nullptr) return;
    if (const auto b = json_body(req, res)) send(res, s->set_clock(*b));
  });
  http.Get(api("/plc/clients"), [this](const Request& req, Response& res) {
    if (service* s = svc_for(req, res)) send(res, s->clients());
  });
  http.Get(api("/plc/requests"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    if (s == nullptr) return;
    std::int64_t limit = static_cast<std::int64_t>(default_request_limit);
    if (req.has_param("limit") && !path_number(req.get_param_value("limit"), 1,
                                               static_cast<std::int64_t>(request_log_size), limit))
      return send_error(
          res, 400, fmt::format("limit must be a whole number 1..{}", request_log_size), "limit");
    send(res, s->requests(static_cast<std::size_t>(limit)));
  });
}

// Fault injection (docs/FAULTS.md, docs/API.md).
void webadmin::impl::fault_routes() {
  http.Get(api("/faults"), [this](const Request& req, Response& res) {
    if (service* s = svc_for(req, res)) send(res, s->faults());
  });
  http.Put(api("/faults"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    if (s == nullptr) return;
    if (!has_content_type(req, "application/json"))
      return send_error(res, 415, "send the rules as Content-Type: application/json");
    if (json_too_deep(req.body))
      return send_error(res, 400,
                        fmt::format("the JSON is nested more than {} levels deep", max_json_depth));
    send(res, s->set_faults(req.body));
  });
  http.Patch(api("/faults/rules/([^/]+)"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    if (s == nullptr) return;
    std::int64_t n = 0;
    if (!path_number(req.matches[2].str(), 1, 256, n))
      return send_error(res, 404, "no such fault rule (1..256)");
    if (const auto b = json_body(req, res))
      send(res, s->set_fault_enabled(static_cast<std::size_t>(n), *b));
  });
  http.Get(api("/faults/events"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    if (s == nullptr) return;
    std::int64_t limit = 50;
    if (req.has_param("limit") && !path_number(req.get_param_value("limit"), 1, 200, limit))
      return send_error(res, 400, "limit must be a whole number 1..200", "limit");
    send(res, s->fault_events(static_cast<std::size_t>(limit)));
  });
  http.Delete(api("/faults/counters"), [this](const Request& req, Response& res) {
    if (service* s = svc_for(req, res)) send(res, s->reset_fault_counters());
  });
}

// A variable's living process and the trends (docs/API.md).
void webadmin::impl::process_routes() {
  const std::string process = api(R"(/dbs/([^/]+)/variables/([^/]+)/process)");
  http.Get(process, [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    const auto n = s == nullptr ? std::nullopt : db_from_path(req, res);
    if (!n) return;
    if (const auto id = id_from_path(req, res)) send(res, s->get_process(*n, *id));
  });
  http.Put(process, [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    const auto n = s == nullptr ? std::nullopt : db_from_path(req, res);
    if (!n) return;
    const auto id = id_from_path(req, res);
    if (!id) return;
    if (const auto b = json_body(req, res)) send(res, s->set_process(*n, *id, *b));
  });
  http.Delete(process, [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    const auto n = s == nullptr ? std::nullopt : db_from_path(req, res);
    if (!n) return;
    if (const auto id = id_from_path(req, res)) send(res, s->delete_process(*n, *id));
  });
  http.Get(api("/trends"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    if (s == nullptr) return;
    std::optional<std::uint16_t> db;
    if (req.has_param("db")) {
      std::int64_t n = 0;
      if (!path_number(req.get_param_value("db"), 1, 65535, n))
        return send_error(res, 400, "db must be a DB number 1..65535", "db");
      db = static_cast<std::uint16_t>(n);
    }
    send(res, s->trends(db));
  });
}

void webadmin::impl::event_routes() {
  // --- live updates (server-sent events) ---
  http.Get(api("/events"), [this](const Request& req, Response& res) {
    service* s = svc_for(req, res);
    if (s == nullptr) return;
    auto st = std::make_shared<stream_state>();
    st->svc = s;
    if (req.has_param("db")) {
      std::int64_t n = 0;
      if (!path_number(req.get_param_value("db"), 1, 65535, n))
        return send_error(res, 400, "db must be a DB number 1..65535", "db");
      st->db = static_cast<std::uint16_t>(n);
    }
    // One limit for the whole web admin: each stream holds one of its HTTP threads.
    if (streams.fetch_add(1) >= opt.max_event_streams) {
      --streams;
      return send_error(res, 503,
                        fmt::format("too many event streams open (at most {}); close other tabs",
                                    opt.max_event_streams));
    }
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, st](std::size_t, httplib::DataSink& sink) { return pump(*st, sink); },
        [this](bool) { --streams; });
  });
}

// A plant: its PLCs (GET /api/plcs, /api/plcs/NAME) and a page per PLC at /plcs/NAME/.
void webadmin::impl::plant_routes() {
  http.Get("/api/plcs", [this](const Request&, Response& res) {
    if (!plant)
      return send_error(res, 404, "this protos7 serves one PLC, not a plant: its API is /api/...");
    send(res, reply::ok(plant->overview()));
  });
  http.Get(R"(/api/plcs/([^/]+))", [this](const Request& req, Response& res) {
    if (!plant)
      return send_error(res, 404, "this protos7 serves one PLC, not a plant: its API is /api/...");
    json j = plant->summary(req.matches[1].str());
    if (j.is_null())
      return send_error(res, 404,
                        fmt::format("the plant has no PLC \"{}\" (GET /api/plcs lists them)",
                                    req.matches[1].str().substr(0, 64)));
    send(res, reply::ok(std::move(j)));
  });
  http.Get(R"(/plcs/([^/]+)/?)", [this](const Request& req, Response& res) {
    if (!plant || plant->summary(req.matches[1].str()).is_null())
      return send_error(res, 404, fmt::format("no such page: {}", req.path.substr(0, 80)));
    if (!req.path.ends_with("/")) {  // the page's relative state lives under the folder
      res.status = 301;
      res.set_header("Location", req.path + "/");
      return;
    }
    serve_asset(req, res, "index.html");
  });
}

webadmin::webadmin(options opt, server::server& srv, server::plc_memory& mem,
                   const server::config& cfg)
    : impl_(std::make_unique<impl>(std::move(opt), srv, mem, cfg)) {}

webadmin::webadmin(options opt, server::plant& p)
    : impl_(std::make_unique<impl>(std::move(opt), p)) {}

webadmin::~webadmin() {
  stop();
}

server::status webadmin::start() {
  impl& d = *impl_;
  if (d.port == 0) {
    const int p = d.http.bind_to_any_port(d.host);
    if (p <= 0)
      return server::status::failure(
          fmt::format("web admin: cannot listen on {}: {}", d.opt.listen, std::strerror(errno)));
    d.port = static_cast<std::uint16_t>(p);
  } else if (!d.http.bind_to_port(d.host, d.port)) {
    return server::status::failure(
        fmt::format("web admin: cannot listen on {} ({}): use another --webadmin-listen or "
                    "--flags.disable-webadmin",
                    d.opt.listen, std::strerror(errno)));
  }
  for (const std::string& h :
       {std::string("127.0.0.1"), std::string("localhost"), std::string("[::1]"),
        d.host.find(':') != std::string::npos ? "[" + d.host + "]" : d.host}) {
    d.allowed_hosts.push_back(lower(fmt::format("{}:{}", h, d.port)));
    if (d.port == 80) d.allowed_hosts.push_back(lower(h));
  }
  d.thread = std::thread([&d] { d.http.listen_after_bind(); });
  d.running = true;
  if (d.svc) d.svc->start_sampler();
  if (d.token.empty()) {
    log(log_level::warn,
        "web admin on {} without authentication (--webadmin-no-auth): every local user can use it",
        d.url());
  } else if (d.opt.token.empty()) {
    // Generated: printed once as a ready-to-click address (as Jupyter does); never stored.
    log(log_level::info,
        "web admin on {}?token={} (open this address; API clients send 'Authorization: Bearer "
        "<token>'; "
        "set your own token with --webadmin-token-file or PROTOS7_WEBADMIN_TOKEN)",
        d.url(), d.token);
  } else {
    log(log_level::info,
        "web admin on {}?token=<your token> (the token of --webadmin-token-file / "
        "PROTOS7_WEBADMIN_TOKEN; API "
        "clients send 'Authorization: Bearer <token>')",
        d.url());
  }
  return {};
}

void webadmin::stop() {
  impl& d = *impl_;
  if (!d.running) return;
  d.running = false;
  {
    const std::lock_guard lock{d.stop_mu};
    d.stopping.store(true);
  }
  d.stop_cv.notify_all();
  if (d.svc) d.svc->stop_sampler();
  d.http.stop_clients();  // workers blocked on slow clients return now: the join below is bounded
  d.http.stop();
  if (d.thread.joinable()) d.thread.join();
}

std::uint16_t webadmin::port() const noexcept {
  return impl_->port;
}
std::string webadmin::url() const {
  return impl_->url();
}
const std::string& webadmin::token() const noexcept {
  return impl_->token;
}
const std::string& webadmin::csrf_token() const noexcept {
  return impl_->csrf;
}

}  // namespace protos7::webadmin
