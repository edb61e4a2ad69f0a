#include "service.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>
#include <tuple>

#include "protos7/codec/hex.hpp"
#include "protos7/codec/s7_item.hpp"
#include "protos7/codec/s7_value.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/storage.hpp"
#include "protos7/webadmin/csv.hpp"

namespace protos7::webadmin {

namespace {

using server::log;
using server::log_level;

constexpr std::uint8_t area_db = static_cast<std::uint8_t>(codec::s7::area::db);
// GET /api/dbs/{n}/bytes answers at most this many bytes at once.
constexpr std::size_t max_bytes_read = 4096;

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// A whole number in [lo, hi] at body[key]; error text when it is something else.
std::optional<std::int64_t> get_int(const json& body, const char* key, std::int64_t lo,
                                    std::int64_t hi, std::string& err) {
  const json& v = body.at(key);
  std::int64_t n = 0;
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(hi)) {
      err = fmt::format("{} must be {}..{}, not {}", key, lo, hi, u);
      return std::nullopt;
    }
    n = static_cast<std::int64_t>(u);
  } else if (v.is_number_integer()) {
    n = v.get<std::int64_t>();
  } else {
    err = fmt::format("{} must be a whole number ({}..{}), not {}", key, lo, hi, json_kind(v));
    return std::nullopt;
  }
  if (n < lo || n > hi) {
    err = fmt::format("{} must be {}..{}, not {}", key, lo, hi, n);
    return std::nullopt;
  }
  return n;
}

std::optional<std::string> get_string(const json& body, const char* key, std::string& err) {
  const json& v = body.at(key);
  if (!v.is_string()) {
    err = fmt::format("{} must be a string, not {}", key, json_kind(v));
    return std::nullopt;
  }
  return v.get<std::string>();
}

// Unknown keys are refused, so a misspelt field is an error and not silently ignored: the
// sentence saying so, or nothing.
std::optional<std::string> unknown_key(const json& body, std::initializer_list<const char*> known) {
  for (const auto& item : body.items()) {
    const std::string& k = item.key();  // (clang 14 cannot capture a structured binding)
    if (std::none_of(known.begin(), known.end(), [&](const char* n) { return k == n; })) {
      std::string list;
      for (const char* n : known) list += fmt::format("{}{}", list.empty() ? "" : ", ", n);
      return fmt::format("unknown field '{}'; the fields are {}", k.substr(0, 40), list);
    }
  }
  return std::nullopt;
}

std::vector<std::byte> slice(const std::vector<std::byte>& bytes, const var_def& v) {
  if (v.end_byte() > bytes.size()) return {};
  return {bytes.begin() + static_cast<std::ptrdiff_t>(v.byte_offset),
          bytes.begin() + static_cast<std::ptrdiff_t>(v.end_byte())};
}

initial_value initial_from_encoded(const var_def& v, const std::vector<std::byte>& enc) {
  if (v.type.is_bool()) {
    initial_value iv;
    iv.bool_val = !enc.empty() && enc[0] != std::byte{0};
    return iv;
  }
  return initial_from_bytes(v.type, enc, 0);
}

// A STRING placed on bytes that are not a STRING[n] header (a fresh, zeroed DB) gets one: the
// empty string, max length n, as a CPU initialises a STRING in a new DB.
bool needs_string_header(const var_def& v, const std::vector<std::byte>& bytes) {
  if (v.type.kind != s7_kind::string || v.end_byte() > bytes.size()) return false;
  // The header must say STRING[n] (max length n) and at most n characters in use.
  return !codec::s7::value::parse_string(std::span{bytes}.subspan(v.byte_offset, v.type.size()),
                                         nullptr)
              .ok();
}

// A state's value written in CSV: a whole number, a number, or text (a STRING's state).
json state_json(const std::string& text) {
  std::int64_t n = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc{} && p == text.data() + text.size()) return n;
  double d = 0;
  const auto [q, ec2] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (ec2 == std::errc{} && q == text.data() + text.size()) return d;
  return text;
}

std::string states_text(const std::vector<named_state>& states, const type_spec& t) {
  std::string s;
  for (const named_state& st : states) {
    const json v = state_value(st, t);
    s += fmt::format("{}{}={}", s.empty() ? "" : ";", st.name,
                     v.is_string() ? v.get<std::string>() : v.dump());
  }
  return s;
}

// --- loop-thread helpers (called only inside on_loop closures) ---

enum class write_status : std::uint8_t { ok, no_db, out_of_range, io_error };

struct write_result {
  write_status status = write_status::ok;
  std::vector<std::byte> after;  // the DB's bytes after the write
};

write_result write_on_loop(server::plc_memory& mem, bool hidden, std::uint16_t db,
                           std::size_t offset, std::uint8_t bit, bool is_bool,
                           const std::vector<std::byte>& data) {
  write_result r;
  server::data_block* d = mem.find_db(db);
  if (d == nullptr || hidden) {
    r.status = write_status::no_db;
    return r;
  }
  const server::location loc = mem.locate(area_db, db, offset, is_bool ? 1 : data.size());
  if (loc.return_code != codec::s7::return_code::success) {
    r.status = write_status::out_of_range;
    return r;
  }
  std::vector<std::byte> nb = data;
  if (is_bool) {
    // Read-modify-write of the one bit, on the loop thread, so it cannot race an S7 bit write.
    const auto mask = static_cast<std::uint8_t>(1U << bit);
    const auto old = std::to_integer<std::uint8_t>(loc.ram[0]);
    nb = {std::byte{static_cast<std::uint8_t>(
        !data.empty() && data[0] != std::byte{0} ? (old | mask) : (old & ~mask))}};
  }
  if (!mem.write(loc, nb)) {
    r.status = write_status::io_error;
    return r;
  }
  r.after.assign(d->bytes().begin(), d->bytes().end());
  return r;
}

void detach_db(server::plc_memory& mem, std::uint16_t n) {
  mem.remove_db(n);
}

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

reply no_loop() {
  return reply::error(
      503,
      "the PLC core did not run the request (the server is stopping or overloaded); try again");
}

reply not_durable(std::string_view what) {
  return reply::error(
      500, fmt::format("{}: syncing the DB file to disk failed (fdatasync), so the change is not "
                       "durable; see the server log",
                       what));
}

reply no_db(std::uint16_t n) {
  return reply::error(404, fmt::format("DB{} does not exist; create it first (POST /api/dbs)", n));
}

// What creating or resizing a DB on the loop thread came to.
struct db_change {
  enum class status : std::uint8_t { done, exists, hidden, missing, over_limit, io_error };
  status st = status::done;
  std::string detail;  // over_limit: the profile limit; io_error: what failed
};

db_change create_db_on_loop(server::plc_memory& mem, const server::plc_state& plc, std::uint16_t n,
                            const std::vector<std::byte>& image, const std::string& path) {
  using st = db_change::status;
  // A DB deleted by an S7 client (PI service _DELE) stays in plc_memory, hidden, until restart.
  if (plc.db_hidden(n)) return {st::hidden, {}};
  if (mem.find_db(n) != nullptr) return {st::exists, {}};
  if (std::string why; plc.check_db_size(n, image.size(), why) != 0) return {st::over_limit, why};
  if (!path.empty()) {
    try {
      server::write_file_atomically(path, image);
    } catch (const std::exception& e) {
      return {st::io_error, e.what()};
    }
  }
  mem.add_db(std::make_unique<server::data_block>(n, image, path));
  return {};
}

// The HTTP error of a DB creation that did not happen.
reply creation_error(std::uint16_t n, std::size_t size, const db_change& c) {
  switch (c.st) {
    case db_change::status::exists:
      return reply::error(409, fmt::format("DB{} already exists", n), "number");
    case db_change::status::over_limit:
      return reply::error(
          507, fmt::format("cannot create DB{} ({} bytes): {} (profile limits)", n, size, c.detail),
          "size");
    case db_change::status::hidden:
      return reply::error(409,
                          fmt::format("DB{} was deleted by an S7 client (PI service _DELE); its "
                                      "number stays reserved until protos7 restarts",
                                      n),
                          "number");
    case db_change::status::missing:
    case db_change::status::io_error:
    case db_change::status::done:
      break;
  }
  return reply::error(500, fmt::format("cannot create DB{}: {}", n, c.detail));
}

// Syncs what is pending, then replaces the block by a resized copy written as a new file (temp +
// fsync + rename): on the loop thread, so S7 writes cannot fall between copy and swap.
db_change resize_db_on_loop(server::plc_memory& mem, const server::plc_state& plc, std::uint16_t n,
                            std::size_t size) {
  using st = db_change::status;
  server::data_block* d = mem.find_db(n);
  if (d == nullptr || plc.db_hidden(n)) return {st::missing, {}};
  if (d->size() == size) return {};
  if (std::string why; plc.check_db_size(n, size, why) != 0) return {st::over_limit, why};
  if (!mem.commit()) return {st::io_error, "syncing the DB files failed"};
  std::vector<std::byte> bytes(d->bytes().begin(), d->bytes().end());
  bytes.resize(size);
  const std::string path = d->path();
  if (!path.empty()) {
    try {
      server::write_file_atomically(path, bytes);
    } catch (const std::exception& e) {
      return {st::io_error, e.what()};
    }
  }
  mem.add_db(std::make_unique<server::data_block>(n, std::move(bytes), path));
  return {};
}

}  // namespace

reply reply::error(int status, std::string message, std::string field) {
  reply r;
  r.status = status;
  r.body = {{"error", std::move(message)}};
  if (!field.empty()) r.body["field"] = std::move(field);
  return r;
}

struct service::parsed_var {
  var_def v;
  std::optional<json> value;
  std::optional<reply> error;
};

service::service(const options& opt, server::server& srv, server::plc_memory& mem,
                 const server::config& cfg)
    : opt_(opt), srv_(srv), mem_(mem), cfg_(cfg), store_(opt.sqlite_path) {
  auto loaded = store_.load();
  vars_ = std::move(loaded.variables);
  skipped_ = std::move(loaded.skipped);
  processes_ = std::move(loaded.processes);
  for (const std::string& s : skipped_) log(log_level::warn, "webadmin: {}: ignored", s);
  sort_vars();
}

void service::sort_vars() {
  std::sort(vars_.begin(), vars_.end(), [](const var_def& a, const var_def& b) {
    return std::tie(a.db, a.byte_offset, a.bit_offset, a.id) <
           std::tie(b.db, b.byte_offset, b.bit_offset, b.id);
  });
}

std::vector<var_def> service::vars_of(std::uint16_t db) const {
  std::vector<var_def> out;
  for (const var_def& v : vars_)
    if (v.db == db) out.push_back(v);
  return out;
}

const var_def* service::find_var(std::uint16_t db, std::int64_t id) const {
  for (const var_def& v : vars_)
    if (v.id == id && v.db == db) return &v;
  return nullptr;
}

std::optional<std::vector<std::byte>> service::db_bytes(std::uint16_t n, bool& ran) {
  auto r = on_loop([this, n]() -> std::optional<std::vector<std::byte>> {
    const server::data_block* d = mem_.find_db(n);
    if (d == nullptr || srv_.plc().db_hidden(n)) return std::nullopt;
    return std::vector<std::byte>(d->bytes().begin(), d->bytes().end());
  });
  ran = r.ran;
  return std::move(r.value);
}

json service::var_json(const var_def& v, const std::vector<std::byte>* bytes) const {
  json states = json::array();
  for (const named_state& s : v.states)
    states.push_back({{"name", s.name}, {"value", state_value(s, v.type)}});
  json j{{"id", v.id},
         {"db", v.db},
         {"name", v.name},
         {"type", v.type.name()},
         {"byte_offset", v.byte_offset},
         {"bit_offset", v.bit_offset},
         {"size", v.type.size()},
         {"address", v.address()},
         {"description", v.description},
         {"states", std::move(states)},
         {"process", process_json_of(v.id)}};
  if (bytes != nullptr && v.end_byte() <= bytes->size()) {
    const decoded_value d = decode_value(v.type, slice(*bytes, v), v.bit_offset);
    j["value"] = d.value;
    j["display"] = d.display;
  } else {
    j["value"] = nullptr;
    j["display"] = "unavailable";
  }
  return j;
}

json service::db_json(std::uint16_t n, std::size_t size, const std::vector<std::byte>* bytes) {
  json vars = json::array();
  for (const var_def& v : vars_)
    if (v.db == n) vars.push_back(var_json(v, bytes));
  json j{{"number", n},
         {"name", fmt::format("DB{}", n)},
         {"size", size},
         {"variables", std::move(vars)}};
  std::size_t used = 0;
  for (const var_def& v : vars_)
    if (v.db == n) used = std::max(used, v.end_byte());
  j["used_up_to"] = used;  // the smallest size the DB can be resized to
  return j;
}

// ------------------------------------------------------------------------------------------
// Data blocks

reply service::list_dbs() {
  auto r = on_loop([this] {
    std::vector<std::tuple<std::uint16_t, std::size_t, bool>> out;
    for (const auto& [n, d] : mem_.dbs())
      if (!srv_.plc().db_hidden(n)) out.emplace_back(n, d->size(), d->failed());
    return out;
  });
  if (!r.ran) return no_loop();
  const std::lock_guard lock{mu_};
  json dbs = json::array();
  for (const auto& [n, size, failed] : r.value) {
    std::size_t count = 0;
    for (const var_def& v : vars_) count += v.db == n ? 1 : 0;
    dbs.push_back(
        {{"number", n}, {"name", fmt::format("DB{}", n)}, {"size", size}, {"variables", count}});
    // A failed fdatasync (plc_memory): the DB refuses writes until protos7 restarts (issue #16).
    if (failed) dbs.back()["sync_failed"] = true;
  }
  json out{{"dbs", std::move(dbs)}};
  if (!skipped_.empty()) out["warnings"] = skipped_;
  return reply::ok(std::move(out));
}

reply service::get_db(std::uint16_t n) {
  bool ran = false;
  const auto bytes = db_bytes(n, ran);
  if (!ran) return no_loop();
  if (!bytes) return no_db(n);
  const auto failed = on_loop([this, n] {
    const server::data_block* d = mem_.find_db(n);
    return d != nullptr && d->failed();
  });
  const std::lock_guard lock{mu_};
  json j = db_json(n, bytes->size(), &*bytes);
  // A failed fdatasync (plc_memory): the DB refuses writes until protos7 restarts (issue #16).
  if (failed.ran && failed.value) j["sync_failed"] = true;
  return reply::ok(std::move(j));
}

reply service::create_db(const json& body) {
  if (auto e = unknown_key(body, {"number", "size"})) return reply::error(400, *e);
  if (!body.contains("number"))
    return reply::error(400, "number is missing: the DB number, 1..65535", "number");
  if (!body.contains("size"))
    return reply::error(400, "size is missing: the DB size in bytes, 1..65536", "size");
  std::string err;
  const auto number = get_int(body, "number", 1, 65535, err);
  if (!number) return reply::error(400, err, "number");
  const auto size = get_int(body, "size", 1, static_cast<std::int64_t>(max_db_size), err);
  if (!size) return reply::error(400, err, "size");
  const auto n = static_cast<std::uint16_t>(*number);
  const auto sz = static_cast<std::size_t>(*size);

  const std::lock_guard lock{mu_};
  // Variables left in the table for this number (e.g. from goprotos7) must fit the new block.
  for (const var_def& v : vars_)
    if (v.db == n && v.end_byte() > sz)
      return reply::error(
          409,
          fmt::format("the variable table already has '{}' at {} for DB{}, which needs at least {} "
                      "bytes; create the DB with size {} or more",
                      v.name, v.address(), n, v.end_byte(), v.end_byte()),
          "size");
  // The block starts zeroed (or with the initial values of variables already in the table).
  std::vector<std::byte> image(sz);
  // The whole creation runs on the loop thread: the check that the number is free and the file
  // creation (write + fsync + rename + fsync(dir)) cannot interleave with anything else.
  const std::string path =
      opt_.bin_dir.empty() ? std::string{} : fmt::format("{}/DB{}.bin", opt_.bin_dir, n);
  auto r = on_loop(
      [this, n, image, path] { return create_db_on_loop(mem_, srv_.plc(), n, image, path); });
  if (!r.ran) return no_loop();
  if (r.value.st != db_change::status::done) return creation_error(n, sz, r.value);
  try {
    store_.set_db_size(n, sz);
  } catch (const std::exception& e) {
    log(log_level::error, "webadmin: DB{} created but its size was not recorded in SQLite: {}", n,
        e.what());
  }
  catalog_changed();
  log(log_level::info, "webadmin: created DB{} ({} bytes)", n, sz);
  return reply::ok(db_json(n, sz, &image), 201);
}

reply service::resize_db(std::uint16_t n, const json& body) {
  if (auto e = unknown_key(body, {"size"})) return reply::error(400, *e);
  if (!body.contains("size"))
    return reply::error(400, "size is missing: the new DB size in bytes, 1..65536", "size");
  std::string err;
  const auto size = get_int(body, "size", 1, static_cast<std::int64_t>(max_db_size), err);
  if (!size) return reply::error(400, err, "size");
  const auto sz = static_cast<std::size_t>(*size);
  const std::lock_guard lock{mu_};
  const var_def* last = nullptr;
  for (const var_def& v : vars_)
    if (v.db == n && (last == nullptr || v.end_byte() > last->end_byte())) last = &v;
  if (last != nullptr && last->end_byte() > sz)
    return reply::error(
        409,
        fmt::format(
            "DB{} cannot shrink to {} bytes: '{}' ({}) uses it up to byte {}; the smallest size "
            "is {} (delete or move that variable first)",
            n, sz, last->name, last->address(), last->end_byte() - 1, last->end_byte()),
        "size");
  auto r = on_loop([this, n, sz] { return resize_db_on_loop(mem_, srv_.plc(), n, sz); });
  if (!r.ran) return no_loop();
  if (r.value.st == db_change::status::missing) return no_db(n);
  if (r.value.st == db_change::status::over_limit)
    return reply::error(
        507,
        fmt::format("cannot resize DB{} to {} bytes: {} (profile limits)", n, sz, r.value.detail),
        "size");
  if (r.value.st != db_change::status::done)
    return reply::error(500, fmt::format("cannot resize DB{}: {}", n, r.value.detail));
  try {
    store_.set_db_size(n, sz);
  } catch (const std::exception& e) {
    log(log_level::error, "webadmin: DB{} resized but the size was not recorded in SQLite: {}", n,
        e.what());
  }
  catalog_changed();
  log(log_level::info, "webadmin: resized DB{} to {} bytes", n, sz);
  bool ran = false;
  const auto bytes = db_bytes(n, ran);
  return reply::ok(db_json(n, sz, bytes ? &*bytes : nullptr));
}

reply service::delete_db(std::uint16_t n) {
  const std::lock_guard lock{mu_};
  auto r = on_loop([this, n]() -> std::pair<int, std::string> {
    server::data_block* d = mem_.find_db(n);
    if (d == nullptr || srv_.plc().db_hidden(n)) return {404, {}};
    if (!mem_.commit()) return {500, "syncing the DB files failed"};
    std::string path = d->path();
    detach_db(mem_, n);  // S7 clients get "object does not exist" from now on
    return {200, std::move(path)};
  });
  if (!r.ran) return no_loop();
  if (r.value.first == 404) return no_db(n);
  if (r.value.first != 200)
    return reply::error(500, fmt::format("cannot delete DB{}: {}", n, r.value.second));
  try {
    store_.delete_db(n);
  } catch (const std::exception& e) {
    return reply::error(
        500, fmt::format("DB{} is no longer served, but its variables could not be removed from "
                         "SQLite: {}",
                         n, e.what()));
  }
  const std::string& path = r.value.second;
  if (!path.empty()) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return reply::error(
          500, fmt::format("DB{} is deleted from the table, but {} could not be removed: {}", n,
                           path, std::strerror(errno)));
    fsync_dir(dir_of(path));
  }
  std::erase_if(vars_, [n](const var_def& v) { return v.db == n; });
  catalog_changed();
  log(log_level::info, "webadmin: deleted DB{}", n);
  return reply::ok({{"deleted", n}});
}

reply service::read_bytes(std::uint16_t n, std::size_t offset, std::optional<std::size_t> length) {
  bool ran = false;
  const auto bytes = db_bytes(n, ran);
  if (!ran) return no_loop();
  if (!bytes) return no_db(n);
  if (offset > bytes->size())
    return reply::error(
        400, fmt::format("offset {} is past the end of DB{} ({} bytes)", offset, n, bytes->size()),
        "offset");
  const std::size_t len = std::min(
      length.value_or(std::min(bytes->size() - offset, max_bytes_read)), bytes->size() - offset);
  if (len > max_bytes_read)
    return reply::error(400, fmt::format("at most {} bytes per request", max_bytes_read), "length");
  const std::string hex = codec::to_hex(std::span<const std::byte>(*bytes).subspan(offset, len));
  return reply::ok(
      {{"db", n}, {"size", bytes->size()}, {"offset", offset}, {"length", len}, {"hex", hex}});
}

// ------------------------------------------------------------------------------------------
// Variables

service::parsed_var service::parse_var(std::uint16_t db, const json& body, const var_def* base,
                                       bool require_all) {
  parsed_var p;
  if (base != nullptr) p.v = *base;
  p.v.db = db;
  const auto fail = [&](std::string msg, std::string field) {
    p.error = reply::error(400, std::move(msg), std::move(field));
    return std::move(p);
  };
  if (!body.is_object()) return fail("the body must be a JSON object", "");
  if (auto e = unknown_key(
          body, {"name", "type", "byte_offset", "bit_offset", "description", "states", "value"}))
    return fail(*e, "");
  if (require_all) {
    for (const char* k : {"name", "type", "byte_offset"})
      if (!body.contains(k)) return fail(fmt::format("{} is missing", k), k);
  }
  std::string err;
  if (body.contains("name")) {
    const auto s = get_string(body, "name", err);
    if (!s) return fail(err, "name");
    p.v.name = *s;
  }
  if (body.contains("type")) {
    const auto s = get_string(body, "type", err);
    if (!s) return fail(err, "type");
    const auto t = parse_type(*s, err);
    if (!t) return fail(err, "type");
    p.v.type = *t;
  }
  if (body.contains("byte_offset")) {
    const auto n = get_int(body, "byte_offset", 0, static_cast<std::int64_t>(max_db_size) - 1, err);
    if (!n) return fail(err, "byte_offset");
    p.v.byte_offset = static_cast<std::size_t>(*n);
  }
  if (body.contains("bit_offset")) {
    const auto n = get_int(body, "bit_offset", 0, 7, err);
    if (!n) return fail(err, "bit_offset");
    p.v.bit_offset = static_cast<std::uint8_t>(*n);
  } else if (base != nullptr && !p.v.type.is_bool()) {
    p.v.bit_offset = 0;  // changed away from BOOL
  }
  if (body.contains("description")) {
    const auto s = get_string(body, "description", err);
    if (!s) return fail(err, "description");
    p.v.description = *s;
  }
  if (body.contains("states")) {
    const json& st = body.at("states");
    if (!st.is_array())
      return fail(
          fmt::format("states must be an array of {{\"name\", \"value\"}}, not {}", json_kind(st)),
          "states");
    if (st.size() > max_states)
      return fail(fmt::format("{} states given; at most {} are allowed", st.size(), max_states),
                  "states");
    p.v.states.clear();
    for (const json& s : st) {
      if (!s.is_object() || !s.contains("name") || !s.contains("value") || s.size() != 2)
        return fail("each state must be an object {\"name\": \"Running\", \"value\": 1}", "states");
      if (!s.at("name").is_string()) return fail("a state name must be a string", "states");
      const std::string name = s.at("name").get<std::string>();
      auto ns = make_state(p.v.type, name, s.at("value"), err);
      if (!ns) return fail(fmt::format("state '{}': {}", name.substr(0, 40), err), "states");
      p.v.states.push_back(std::move(*ns));
    }
  } else if (base != nullptr && p.v.type != base->type) {
    // The type changed: the states follow when each is a value of the new type, else they go.
    std::vector<named_state> kept;
    for (const named_state& st : p.v.states)
      if (auto ns = make_state(p.v.type, st.name, state_value(st, base->type), err))
        kept.push_back(std::move(*ns));
    p.v.states = kept.size() == p.v.states.size() ? std::move(kept) : std::vector<named_state>{};
  }
  if (body.contains("value")) p.value = body.at("value");
  return p;
}

reply service::list_variables(std::uint16_t n) {
  reply r = get_db(n);
  if (r.status != 200) return r;
  return reply::ok({{"variables", std::move(r.body["variables"])}});
}

reply service::get_variable(std::uint16_t n, std::int64_t id) {
  bool ran = false;
  const auto bytes = db_bytes(n, ran);
  if (!ran) return no_loop();
  if (!bytes) return no_db(n);
  const std::lock_guard lock{mu_};
  const var_def* v = find_var(n, id);
  if (v == nullptr) return reply::error(404, fmt::format("DB{} has no variable with id {}", n, id));
  return reply::ok({{"variable", var_json(*v, &*bytes)}});
}

std::optional<reply> service::write_value(const var_def& v, const std::vector<std::byte>& enc,
                                          std::vector<std::byte>& after) {
  auto r = on_loop(
      [this, db = v.db, off = v.byte_offset, bit = v.bit_offset, is_bool = v.type.is_bool(), enc] {
        return write_on_loop(mem_, srv_.plc().db_hidden(db), db, off, bit, is_bool, enc);
      });
  if (!r.ran) return no_loop();
  switch (r.value.status) {
    case write_status::no_db:
      return no_db(v.db);
    case write_status::out_of_range:
      return reply::error(
          409, fmt::format("{} is outside DB{} (was the DB resized?)", v.address(), v.db));
    case write_status::io_error:
      return reply::error(
          500, fmt::format("writing {} to the DB file failed; see the server log", v.address()));
    case write_status::ok:
      break;
  }
  if (!r.committed) return not_durable(fmt::format("the value of '{}' was written", v.name));
  after = std::move(r.value.after);
  return std::nullopt;
}

reply service::create_variable(std::uint16_t n, const json& body) {
  parsed_var p = parse_var(n, body, nullptr, true);
  if (p.error) return *p.error;
  var_def& v = p.v;
  const std::lock_guard lock{mu_};
  bool ran = false;
  auto bytes = db_bytes(n, ran);
  if (!ran) return no_loop();
  if (!bytes) return no_db(n);
  if (const problem pr = check_variable(v, bytes->size(), vars_))
    return reply::error(pr.conflict ? 409 : 400, pr.message, pr.field);
  if (vars_of(n).size() >= max_variables_per_db)
    return reply::error(
        409, fmt::format("DB{} already has {} variables, the most the web admin manages", n,
                         max_variables_per_db));
  std::optional<encoded_value> enc;
  if (p.value) {
    enc = encode_value(v.type, *p.value);
    if (!enc->ok()) return reply::error(400, fmt::format("value: {}", enc->error), "value");
  } else if (needs_string_header(v, *bytes)) {
    enc = encode_value(v.type, "");
  }
  // The initial value in SQLite: the one given, else what the DB holds there now.
  const initial_value init = enc ? initial_from_encoded(v, enc->bytes)
                                 : initial_from_bytes(v.type, slice(*bytes, v), v.bit_offset);
  try {
    v.id = store_.insert_variable(v, init);
  } catch (const std::exception& e) {
    return reply::error(500, fmt::format("could not save the variable: {}", e.what()));
  }
  vars_.push_back(v);
  sort_vars();
  catalog_changed();
  if (enc) {
    if (auto e = write_value(v, enc->bytes, *bytes)) {
      e->body["error"] =
          fmt::format("the variable was created, but {}", e->body["error"].get<std::string>());
      return *e;
    }
  }
  log(log_level::info, "webadmin: DB{}: created '{}' {} at {}", n, v.name, v.type.name(),
      v.address());
  return reply::ok({{"variable", var_json(v, &*bytes)}}, 201);
}

reply service::update_variable(std::uint16_t n, std::int64_t id, const json& body) {
  const std::lock_guard lock{mu_};
  const var_def* base = find_var(n, id);
  if (base == nullptr)
    return reply::error(404, fmt::format("DB{} has no variable with id {}", n, id));
  const var_def old = *base;
  parsed_var p = parse_var(n, body, base, false);
  if (p.error) return *p.error;
  var_def& v = p.v;
  bool ran = false;
  auto bytes = db_bytes(n, ran);
  if (!ran) return no_loop();
  if (!bytes) return no_db(n);
  if (const problem pr = check_variable(v, bytes->size(), vars_))
    return reply::error(pr.conflict ? 409 : 400, pr.message, pr.field);
  std::optional<encoded_value> enc;
  if (p.value) {
    enc = encode_value(v.type, *p.value);
    if (!enc->ok()) return reply::error(400, fmt::format("value: {}", enc->error), "value");
  } else if (needs_string_header(v, *bytes)) {
    enc = encode_value(v.type, "");
  }
  std::optional<initial_value> init;
  if (enc)
    init = initial_from_encoded(v, enc->bytes);
  else if (v.type != old.type || v.byte_offset != old.byte_offset || v.bit_offset != old.bit_offset)
    init = initial_from_bytes(v.type, slice(*bytes, v), v.bit_offset);
  try {
    store_.update_variable(v, init);
  } catch (const std::exception& e) {
    return reply::error(500, fmt::format("could not save the variable: {}", e.what()));
  }
  for (var_def& x : vars_)
    if (x.id == v.id) x = v;
  sort_vars();
  catalog_changed();
  if (enc) {
    if (auto e = write_value(v, enc->bytes, *bytes)) {
      e->body["error"] =
          fmt::format("the variable was saved, but {}", e->body["error"].get<std::string>());
      return *e;
    }
  }
  return reply::ok({{"variable", var_json(v, &*bytes)}});
}

reply service::delete_variable(std::uint16_t n, std::int64_t id) {
  const std::lock_guard lock{mu_};
  const var_def* v = find_var(n, id);
  if (v == nullptr) return reply::error(404, fmt::format("DB{} has no variable with id {}", n, id));
  try {
    store_.delete_variable(id);
  } catch (const std::exception& e) {
    return reply::error(500, fmt::format("could not delete the variable: {}", e.what()));
  }
  log(log_level::info, "webadmin: DB{}: deleted '{}'", n, v->name);
  std::erase_if(vars_, [id](const var_def& x) { return x.id == id; });
  catalog_changed();
  return reply::ok({{"deleted", id}});
}

reply service::set_value(std::uint16_t n, std::int64_t id, const json& body) {
  if (auto e = unknown_key(body, {"value"})) return reply::error(400, *e);
  if (!body.contains("value")) return reply::error(400, "value is missing", "value");
  var_def v;
  {
    const std::lock_guard lock{mu_};
    const var_def* found = find_var(n, id);
    if (found == nullptr)
      return reply::error(404, fmt::format("DB{} has no variable with id {}", n, id));
    v = *found;
  }
  const encoded_value enc = encode_value(v.type, body.at("value"));
  if (!enc.ok()) return reply::error(400, fmt::format("{}: {}", v.name, enc.error), "value");
  std::vector<std::byte> after;
  if (auto e = write_value(v, enc.bytes, after)) return *e;
  // goprotos7 keeps the value in db_variables too (its dbtool does the same on a change).
  try {
    const std::lock_guard lock{mu_};
    store_.set_value(v, initial_from_encoded(v, enc.bytes));
  } catch (const std::exception& e) {
    return reply::error(
        500, fmt::format("the value of '{}' was written to DB{}, but not to the SQLite file: {}",
                         v.name, n, e.what()));
  }
  log(log_level::debug, "webadmin: DB{}: set '{}' = {}", n, v.name, body.at("value").dump());
  const std::lock_guard lock{mu_};  // var_json reads the process definitions
  return reply::ok({{"variable", var_json(v, &after)}});
}

// ------------------------------------------------------------------------------------------
// Import / export

reply service::export_db(std::uint16_t n, const std::string& format) {
  if (format != "json" && format != "csv")
    return reply::error(
        400, fmt::format("format must be json or csv, not '{}'", format.substr(0, 20)), "format");
  bool ran = false;
  const auto bytes = db_bytes(n, ran);
  if (!ran) return no_loop();
  if (!bytes) return no_db(n);
  const std::lock_guard lock{mu_};
  reply r;
  if (format == "json") {
    json vars = json::array();
    for (const var_def& v : vars_of(n)) {
      json states = json::array();
      for (const named_state& s : v.states)
        states.push_back({{"name", s.name}, {"value", state_value(s, v.type)}});
      json j{{"name", v.name},
             {"type", v.type.name()},
             {"byte_offset", v.byte_offset},
             {"bit_offset", v.bit_offset},
             {"description", v.description},
             {"states", std::move(states)}};
      const decoded_value d = decode_value(v.type, slice(*bytes, v), v.bit_offset);
      if (!d.value.is_null()) j["value"] = d.value;
      vars.push_back(std::move(j));
    }
    r.raw = json{{"db", n}, {"size", bytes->size()}, {"variables", std::move(vars)}}.dump(
        2, ' ', false, json::error_handler_t::replace);
    r.raw += '\n';
    r.content_type = "application/json";
    r.filename = fmt::format("DB{}.json", n);
  } else {
    r.raw =
        csv_line({"name", "type", "byte_offset", "bit_offset", "description", "states", "value"});
    for (const var_def& v : vars_of(n)) {
      const decoded_value d = decode_value(v.type, slice(*bytes, v), v.bit_offset);
      std::string value;
      if (!d.value.is_null())
        value = v.type.kind == s7_kind::string || v.type.kind == s7_kind::character
                    ? d.value.get<std::string>()
                    : d.display;
      // A description starting like a formula is prefixed with ' so a spreadsheet shows it as
      // text (CSV injection); import strips that prefix again.
      std::string desc = v.description;
      if (!desc.empty() &&
          (desc[0] == '=' || desc[0] == '+' || desc[0] == '@' || desc[0] == '-' || desc[0] == '\''))
        desc.insert(0, "'");
      r.raw += csv_line({v.name, v.type.name(), std::to_string(v.byte_offset),
                         std::to_string(v.bit_offset), desc, states_text(v.states, v.type), value});
    }
    r.content_type = "text/csv; charset=utf-8";
    r.filename = fmt::format("DB{}.csv", n);
  }
  return r;
}

namespace {

// CSV import: a row has at most this many fields (the 7 known columns and room for a stray
// trailing separator); a longer row is refused as it is read (issue #16: 1 MiB of separators
// used to become a million strings, 55 MB).
constexpr std::size_t max_csv_fields = 16;

// The column index of each known header cell; an error reply for an unknown or missing column.
std::optional<reply> csv_columns(const csv_row& head, std::map<std::string, std::size_t>& col) {
  static const std::set<std::string> known{"name",        "type",   "byte_offset", "bit_offset",
                                           "description", "states", "value"};
  for (std::size_t i = 0; i < head.size(); ++i) {
    const std::string h = lower(head[i]);
    if (known.count(h) == 0)
      return reply::error(
          400, fmt::format("unknown CSV column '{}'; the columns are name, type, byte_offset, "
                           "bit_offset, description, states, value",
                           head[i].substr(0, 40)));
    col[h] = i;
  }
  for (const char* k : {"name", "type", "byte_offset"})
    if (col.count(k) == 0) return reply::error(400, fmt::format("the CSV has no column '{}'", k));
  return std::nullopt;
}

// "Idle=0;Running=1" as the states array of a POST body; at most max_states, counted while
// splitting so a long list is refused before it is built.
std::optional<reply> csv_states(const std::string& st, const std::string& label, json& states) {
  states = json::array();
  std::size_t pos = 0;
  while (pos < st.size()) {
    const std::size_t end = std::min(st.find(';', pos), st.size());
    const std::string item = st.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string vtext = eq == std::string::npos ? std::string{} : item.substr(eq + 1);
    if (eq == std::string::npos || vtext.empty())
      return reply::error(400, fmt::format("{}: states must look like Idle=0;Running=1, not '{}'",
                                           label, item.substr(0, 40)));
    if (states.size() == max_states)
      return reply::error(400,
                          fmt::format("{}: more than {} states; at most {} are allowed", label,
                                      max_states, max_states),
                          "states");
    states.push_back({{"name", item.substr(0, eq)}, {"value", state_json(vtext)}});
  }
  return std::nullopt;
}

// One CSV data row as the POST body of a variable.
std::optional<reply> csv_variable(const csv_row& cells,
                                  const std::map<std::string, std::size_t>& col,
                                  std::size_t header_size, const std::string& label, json& o) {
  if (cells.size() != header_size)
    return reply::error(
        400, fmt::format("{}: {} fields, the header has {}", label, cells.size(), header_size));
  const auto cell = [&](const char* k) -> std::string {
    return col.count(k) != 0 ? cells[col.at(k)] : std::string{};
  };
  o = json{{"name", cell("name")}, {"type", cell("type")}};
  for (const char* k : {"byte_offset", "bit_offset"}) {
    const std::string t = cell(k);
    if (t.empty() && std::string(k) == "bit_offset") continue;
    std::int64_t num = 0;
    const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), num);
    if (t.empty() || ec != std::errc{} || ptr != t.data() + t.size())
      return reply::error(
          400, fmt::format("{}: {} '{}' is not a whole number", label, k, t.substr(0, 20)));
    o[k] = num;
  }
  std::string desc = cell("description");
  if (desc.size() >= 2 && desc[0] == '\'' &&
      (desc[1] == '=' || desc[1] == '+' || desc[1] == '@' || desc[1] == '-' || desc[1] == '\''))
    desc.erase(0, 1);
  o["description"] = desc;
  json states;
  if (auto e = csv_states(cell("states"), label, states)) return e;
  o["states"] = std::move(states);
  // The value column is text in the type's notation; empty = leave the bytes as they are.
  const std::string vt = cell("value");
  if (!vt.empty()) {
    std::string why;
    const auto t = parse_type(cell("type"), why);
    if (t) {
      const auto val = parse_value_text(*t, vt, why);
      if (!val)
        return reply::error(
            400, fmt::format("{} ('{}'): value: {}", label, cell("name").substr(0, 40), why));
      o["value"] = *val;
    }
  }
  return std::nullopt;
}

}  // namespace

// The table of an import as it will be, built one row at a time: each row is checked and
// turned into a variable as soon as it is read, nothing else of it is kept (issue #16).
struct service::import_table {
  std::uint16_t n;
  const std::vector<std::byte>& bytes;
  std::vector<var_def> result;
  std::vector<std::pair<var_def, std::optional<initial_value>>> apply;
  std::vector<std::pair<var_def, std::vector<std::byte>>> values;
  std::set<std::string> seen;
  std::size_t rows = 0;
};

std::optional<reply> service::import_row(import_table& t, const std::string& label,
                                         const json& obj) {
  ++t.rows;
  parsed_var p = parse_var(t.n, obj, nullptr, true);
  const std::string who =
      obj.is_object() && obj.contains("name") && obj["name"].is_string()
          ? fmt::format("{} ('{}')", label, obj["name"].get<std::string>().substr(0, 40))
          : label;
  if (p.error) {
    p.error->body["error"] = fmt::format("{}: {}", who, p.error->body["error"].get<std::string>());
    return *p.error;
  }
  var_def v = p.v;
  if (!t.seen.insert(lower(v.name)).second)
    return reply::error(400,
                        fmt::format("{}: the name '{}' appears twice in the import", who, v.name));
  // Merge: a variable with the same name is updated in place (keeps its id).
  const auto same = std::find_if(t.result.begin(), t.result.end(),
                                 [&](const var_def& x) { return lower(x.name) == lower(v.name); });
  if (same != t.result.end()) {
    v.id = same->id;
    t.result.erase(same);
  }
  if (const problem pr = check_variable(v, t.bytes.size(), t.result))
    return reply::error(pr.conflict ? 409 : 400, fmt::format("{}: {}", who, pr.message), pr.field);
  std::optional<initial_value> init;
  if (!p.value && needs_string_header(v, t.bytes)) p.value = json("");
  if (p.value) {
    const encoded_value enc = encode_value(v.type, *p.value);
    if (!enc.ok()) return reply::error(400, fmt::format("{}: value: {}", who, enc.error), "value");
    init = initial_from_encoded(v, enc.bytes);
    t.values.emplace_back(v, enc.bytes);
  } else {
    init = initial_from_bytes(v.type, slice(t.bytes, v), v.bit_offset);
  }
  t.result.push_back(v);
  t.apply.emplace_back(v, init);
  return std::nullopt;
}

std::optional<reply> service::import_csv(import_table& t, const std::string& body) {
  std::map<std::string, std::size_t> col;
  std::size_t header_size = 0;
  std::optional<reply> failed;
  csv_error cerr;
  const bool ok = for_each_csv_row(body, max_variables_per_db + 1, max_csv_fields, cerr,
                                   [&](csv_row& cells, std::size_t r) {
                                     if (r == 0) {
                                       header_size = cells.size();
                                       failed = csv_columns(cells, col);
                                     } else {
                                       json o;
                                       const std::string label = fmt::format("line {}", r + 1);
                                       failed = csv_variable(cells, col, header_size, label, o);
                                       if (!failed) failed = import_row(t, label, o);
                                     }
                                     return !failed;
                                   });
  if (failed) return failed;
  if (!ok) return reply::error(400, fmt::format("CSV line {}: {}", cerr.line, cerr.message));
  if (header_size == 0)
    return reply::error(400, "the CSV is empty; the first line must name the columns");
  return std::nullopt;
}

namespace {

// The JSON import reads one variable at a time: a parser callback hands each element of the
// variables array to the importer as soon as it is complete and drops it from the document, so
// the memory held is one variable's, not the body's (a DOM of 1 MiB of "{}," is about 42 MB).
constexpr std::size_t max_json_values_per_variable = 1024;  // 32 states are ~100

struct import_stop {};  // thrown by the callback to end the parse; the reason is kept beside it

}  // namespace

struct service::json_import_state {
  bool top_is_object = false;
  bool saw_variables = false;  // the "variables" key at the top level
  bool in_variables = false;   // inside the variables array (or its value)
  int element_depth = 1;       // depth of the variables array's elements
  std::size_t values_in_element = 0;
  std::size_t index = 0;
  std::optional<reply> failed;
};

std::optional<reply> service::import_json(import_table& t, const std::string& body) {
  json_import_state st;
  const json::parser_callback_t cb = [&](int depth, json::parse_event_t ev, json& parsed) {
    return json_import_event(t, st, depth, ev, parsed);
  };
  try {
    [[maybe_unused]] const json emptied = json::parse(body, cb);  // the variables were dropped
  } catch (const import_stop&) {
    return st.failed;
  } catch (const json::parse_error& e) {
    return reply::error(400, fmt::format("malformed JSON at byte {}: {}", e.byte, e.what()));
  }
  if (st.top_is_object && !st.saw_variables)
    return reply::error(400, "the JSON must be {\"variables\": [...]} or an array");
  return std::nullopt;
}

// The containers on the way to the variables are kept (their end events come only then); each
// element is handed to import_row when complete and dropped; everything else is dropped.
bool service::json_import_event(import_table& t, json_import_state& st, int depth,
                                json::parse_event_t ev, json& parsed) {
  using event = json::parse_event_t;
  const auto stop = [&](reply r) {
    st.failed = std::move(r);
    throw import_stop{};
  };
  const char* const shape = "the JSON must be {\"variables\": [...]} or an array";
  if (depth == 0) {
    if (ev == event::value) stop(reply::error(400, shape));
    if (ev == event::object_start) st.top_is_object = true;
    if (ev == event::array_start) st.in_variables = true;
    return true;
  }
  if (st.top_is_object && depth == 1) {
    if (ev == event::key) {
      st.in_variables = parsed == "variables";
      st.saw_variables = st.saw_variables || st.in_variables;
      st.element_depth = 2;
      return st.in_variables;  // the values of other keys are not stored
    }
    if (st.in_variables && ev != event::array_start && ev != event::array_end)
      stop(reply::error(400, "variables must be an array"));
    if (ev == event::array_end) st.in_variables = false;
    return true;
  }
  if (!st.in_variables) return true;  // inside a dropped member: nothing is stored
  const bool complete = ev == event::object_end || ev == event::array_end || ev == event::value;
  if (depth == st.element_depth && complete) {
    if (st.index >= max_variables_per_db)
      stop(reply::error(400, fmt::format("more than {} variables; at most {} per DB",
                                         max_variables_per_db, max_variables_per_db)));
    if (auto e = import_row(t, fmt::format("variables[{}]", st.index++), parsed)) stop(*e);
    st.values_in_element = 0;
    return false;  // handed over: dropped from the document
  }
  if (++st.values_in_element > max_json_values_per_variable)
    stop(reply::error(400, fmt::format("variables[{}]: more than {} JSON values in one variable",
                                       st.index, max_json_values_per_variable)));
  return true;
}

reply service::import_db(std::uint16_t n, const std::string& format, const std::string& mode,
                         const std::string& body) {
  if (format != "json" && format != "csv")
    return reply::error(400, "format must be json or csv (query parameter or the Content-Type)",
                        "format");
  if (mode != "replace" && mode != "merge")
    return reply::error(
        400, fmt::format("mode must be replace or merge, not '{}'", mode.substr(0, 20)), "mode");
  const std::lock_guard lock{mu_};
  bool ran = false;
  const auto bytes = db_bytes(n, ran);
  if (!ran) return no_loop();
  if (!bytes) return no_db(n);
  // 1. Every row is checked against the whole table as it will be, before anything is written.
  import_table t{n, *bytes, mode == "merge" ? vars_of(n) : std::vector<var_def>{}, {}, {}, {}, 0};
  if (auto e = format == "json" ? import_json(t, body) : import_csv(t, body)) return *e;
  // Merge: the DB's other variables stay as they are.
  if (mode == "merge")
    for (const var_def& v : t.result)
      if (v.id != 0 && std::none_of(t.apply.begin(), t.apply.end(),
                                    [&](const auto& a) { return a.first.id == v.id; }))
        t.apply.emplace_back(v, std::nullopt);
  // 2. One SQLite transaction, then all values in one loop round (one group commit).
  std::vector<std::int64_t> ids;
  try {
    ids = store_.apply_db_variables(n, t.apply);
  } catch (const std::exception& e) {
    return reply::error(500, fmt::format("could not save the import: {}", e.what()));
  }
  std::erase_if(vars_, [n](const var_def& v) { return v.db == n; });
  for (std::size_t i = 0; i < t.apply.size(); ++i) {
    var_def v = t.apply[i].first;
    v.id = ids[i];
    vars_.push_back(v);
  }
  sort_vars();
  catalog_changed();
  if (auto e = write_imported_values(t.values)) return *e;
  log(log_level::info, "webadmin: DB{}: imported {} variables ({}, {})", n, t.rows, format, mode);
  auto after = db_bytes(n, ran);
  json out = db_json(n, bytes->size(), after ? &*after : nullptr);
  out["imported"] = t.rows;
  return reply::ok(std::move(out));
}

std::optional<reply> service::write_imported_values(
    const std::vector<std::pair<var_def, std::vector<std::byte>>>& values) {
  if (values.empty()) return std::nullopt;
  auto w = on_loop([this, values] {  // a copy: after a loop timeout the closure may run later
    write_status worst = write_status::ok;
    for (const auto& [v, enc] : values) {
      const write_result r = write_on_loop(mem_, srv_.plc().db_hidden(v.db), v.db, v.byte_offset,
                                           v.bit_offset, v.type.is_bool(), enc);
      if (r.status != write_status::ok) worst = r.status;
    }
    return worst;
  });
  if (!w.ran) return no_loop();
  if (w.value != write_status::ok)
    return reply::error(
        500, "the variables were imported, but writing their values failed; see the server log");
  if (!w.committed) return not_durable("the imported values were written");
  return std::nullopt;
}

// ------------------------------------------------------------------------------------------
// The PLC

namespace {

std::string mode_name(server::operating_mode m) {
  return m == server::operating_mode::run ? "RUN" : "STOP";
}

std::string clock_text(const codec::s7::ud::timestamp& t) {
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}", t.year, t.month, t.day, t.hour,
                     t.minute, t.second, t.millisecond);
}

}  // namespace

reply service::plc_info() {
  auto r = on_loop([this] {
    server::plc_state& plc = srv_.plc();
    const server::identity& id = plc.id();
    json j;
    j["mode"] = mode_name(plc.mode());
    j["mode_changes"] = plc.mode_changes();
    if (plc.mode_changes() > 0) {
      const server::mode_change& c = plc.last_mode_change();
      j["last_mode_change"] = {{"from", mode_name(c.from)},
                               {"to", mode_name(c.to)},
                               {"reason", c.reason},
                               {"at", iso_time(c.at)}};
    }
    j["identity"] = {{"order_number", id.order_number},
                     {"firmware_version", id.firmware_version},
                     {"as_name", id.as_name},
                     {"module_name", id.module_name},
                     {"plant_id", id.plant_id},
                     {"copyright", id.copyright},
                     {"serial_number", id.serial_number},
                     {"module_type", id.module_type},
                     {"memory_card_serial", id.memory_card_serial}};
    j["profile"] = {{"name", plc.profile().name}, {"source", plc.profile().source}};
    j["clock"] = clock_text(plc.clock_now());
    j["clock_offset_ms"] = plc.clock_offset().count();
    j["protection_level"] = plc.protection_level();
    j["password_set"] = plc.has_password();
    j["connections"] = monitor_.open_connections();
    j["connections_total"] = monitor_.total_connections();
    j["requests_total"] = monitor_.total_requests();
    std::size_t dbs = 0;
    for (const auto& [n, d] : mem_.dbs()) dbs += plc.db_hidden(n) ? 0U : 1U;
    j["dbs"] = dbs;
    return j;
  });
  if (!r.ran) return no_loop();
  json j = std::move(r.value);
  j["s7"] = {{"listen", cfg_.listen_address},
             {"port", srv_.port()},
             {"rack", cfg_.rack},
             {"slot", cfg_.slot},
             {"pdu_size", cfg_.pdu_size},
             {"max_amq", cfg_.max_amq},
             {"max_connections", cfg_.max_connections}};
  j["started_at"] = iso_time(started_);
  j["uptime_s"] =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - started_)
          .count();
  return reply::ok(std::move(j));
}

reply service::set_mode(const json& body) {
  if (auto e = unknown_key(body, {"mode"})) return reply::error(400, *e);
  if (!body.contains("mode") || !body.at("mode").is_string())
    return reply::error(400, "mode must be \"RUN\" or \"STOP\"", "mode");
  const std::string m = body.at("mode").get<std::string>();
  if (m != "RUN" && m != "STOP")
    return reply::error(
        400, fmt::format("mode must be \"RUN\" or \"STOP\", not \"{}\"", m.substr(0, 20)), "mode");
  const server::operating_mode want =
      m == "RUN" ? server::operating_mode::run : server::operating_mode::stop;
  auto r = on_loop([this, want] {
    const bool changed = srv_.plc().set_mode(want, "web admin");
    return std::make_pair(changed, mode_name(srv_.plc().mode()));
  });
  if (!r.ran) return no_loop();
  return reply::ok({{"mode", r.value.second}, {"changed", r.value.first}});
}

reply service::set_clock(const json& body) {
  if (auto e = unknown_key(body, {"time", "offset_ms"})) return reply::error(400, *e);
  if (body.contains("time") == body.contains("offset_ms"))
    return reply::error(
        400,
        "give either time (\"YYYY-MM-DDTHH:MM:SS.mmm\", the new PLC time) or offset_ms (from "
        "the host's clock; 0 = the host's time)");
  std::optional<codec::s7::ud::timestamp> t;
  std::int64_t offset = 0;
  if (body.contains("time")) {
    // The DATE_AND_TIME parser checks the text; its BCD bytes are then read back as fields.
    const encoded_value e = encode_value(type_spec{s7_kind::date_and_time, 0}, body.at("time"));
    if (!e.ok()) return reply::error(400, fmt::format("time: {}", e.error), "time");
    const auto bcd = [&](std::size_t i) {
      const auto b = std::to_integer<unsigned>(e.bytes[i]);
      return (b >> 4U) * 10 + (b & 15U);
    };
    codec::s7::ud::timestamp ts;
    const unsigned yy = bcd(0);
    ts.year = static_cast<std::uint16_t>(yy >= 90 ? 1900 + yy : 2000 + yy);
    ts.month = static_cast<std::uint8_t>(bcd(1));
    ts.day = static_cast<std::uint8_t>(bcd(2));
    ts.hour = static_cast<std::uint8_t>(bcd(3));
    ts.minute = static_cast<std::uint8_t>(bcd(4));
    ts.second = static_cast<std::uint8_t>(bcd(5));
    ts.millisecond =
        static_cast<std::uint16_t>(bcd(6) * 10 + (std::to_integer<unsigned>(e.bytes[7]) >> 4U));
    ts.weekday = static_cast<std::uint8_t>(std::to_integer<unsigned>(e.bytes[7]) & 15U);
    t = ts;
  } else {
    std::string err;
    const auto n =
        get_int(body, "offset_ms", -100LL * 365 * 86'400'000, 100LL * 365 * 86'400'000, err);
    if (!n) return reply::error(400, err, "offset_ms");
    offset = *n;
  }
  // The clock as the PLC then reads it, or nothing when it refused the time.
  auto r = on_loop([this, t, offset]() -> std::optional<std::string> {
    server::plc_state& plc = srv_.plc();
    if (t) {
      if (!plc.set_clock(*t)) return std::nullopt;
    } else {
      plc.set_clock_offset(std::chrono::milliseconds(offset));
    }
    return clock_text(plc.clock_now());
  });
  if (!r.ran) return no_loop();
  if (!r.value) return reply::error(400, "the PLC refused this time (years 1990..2089)", "time");
  return reply::ok({{"clock", *r.value}});
}

reply service::clients() {
  auto r = on_loop([this] { return monitor_.clients_json(); });
  if (!r.ran) return no_loop();
  return reply::ok({{"clients", std::move(r.value)}});
}

reply service::requests(std::size_t limit) {
  auto r = on_loop([this, limit] { return monitor_.requests_json(limit); });
  if (!r.ran) return no_loop();
  return reply::ok(
      {{"requests", std::move(r.value)}, {"limit", limit}, {"kept", request_log_size}});
}

// ------------------------------------------------------------------------------------------
// Event streams

live_snapshot service::snapshot(std::optional<std::uint16_t> db) {
  auto r = on_loop([this, db] {
    live_snapshot s;
    if (db && !srv_.plc().db_hidden(*db)) {
      if (const server::data_block* d = mem_.find_db(*db)) {
        s.db_exists = true;
        s.db_bytes.assign(d->bytes().begin(), d->bytes().end());
      }
    }
    s.traffic_generation = monitor_.generation();
    s.mode = mode_name(srv_.plc().mode());
    s.connections = monitor_.open_connections();
    s.requests_total = monitor_.total_requests();
    s.faults_total = srv_.faults().injected_total();
    return s;
  });
  r.value.ran = r.ran;
  return std::move(r.value);
}

json service::values_json(std::uint16_t db, const std::vector<std::byte>& bytes) {
  json vars = json::array();
  const std::lock_guard lock{mu_};
  for (const var_def& v : vars_) {
    if (v.db != db) continue;
    json j{{"id", v.id}};
    if (v.end_byte() <= bytes.size()) {
      const decoded_value d = decode_value(v.type, slice(bytes, v), v.bit_offset);
      j["value"] = d.value;
      j["display"] = d.display;
    } else {
      j["value"] = nullptr;
      j["display"] = "unavailable";
    }
    vars.push_back(std::move(j));
  }
  return {{"db", db}, {"size", bytes.size()}, {"variables", std::move(vars)}};
}

}  // namespace protos7::webadmin
