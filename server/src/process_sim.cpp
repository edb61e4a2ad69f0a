// The living process (process_sim.hpp): definitions, expressions and the ticking simulation.
#include "protos7/server/process_sim.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numbers>

#include "protos7/server/log.hpp"
#include "protos7/server/server.hpp"

namespace protos7::server {

struct process_expr {
  enum class op : std::uint8_t {
    number,
    variable,
    time,
    neg,
    inv,
    add,
    sub,
    mul,
    div,
    mod,
    pow,
    lt,
    le,
    gt,
    ge,
    eq,
    ne,
    conj,
    disj,
    call
  };
  op o = op::number;
  double number = 0;
  plc_variable var;
  std::string fn;
  std::vector<process_expr> args;
};

namespace {

using json = nlohmann::json;
using op = process_expr::op;

constexpr std::size_t max_expression_length = 1024;
constexpr int max_depth = 32;

struct function_info {
  std::string_view name;
  std::size_t arity;
};
constexpr std::array<function_info, 14> functions{{{"sin", 1},
                                                   {"cos", 1},
                                                   {"tan", 1},
                                                   {"abs", 1},
                                                   {"sqrt", 1},
                                                   {"floor", 1},
                                                   {"ceil", 1},
                                                   {"round", 1},
                                                   {"exp", 1},
                                                   {"log", 1},
                                                   {"min", 2},
                                                   {"max", 2},
                                                   {"clamp", 3},
                                                   {"pow", 2}}};

// Recursive descent over the expression text; errors throw a sentence (caught in parse_process).
class expr_parser {
 public:
  expr_parser(std::string_view s, const variable_lookup& lookup) : s_(s), lookup_(lookup) {}
  process_expr parse() {
    process_expr e = binary(0);
    skip();
    if (at_ != s_.size()) fail(fmt::format("unexpected \"{}\"", s_.substr(at_, 10)));
    return e;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(fmt::format("at character {}: {}", at_ + 1, what));
  }
  void skip() {
    while (at_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[at_])) != 0) ++at_;
  }
  bool eat(std::string_view t) {
    skip();
    if (s_.substr(at_, t.size()) != t) return false;
    at_ += t.size();
    return true;
  }
  // Binary operators by precedence level: || && comparisons + - * / %.
  process_expr binary(int level) {
    static const std::array<std::vector<std::pair<std::string_view, op>>, 5> levels{{
        {{"||", op::disj}},
        {{"&&", op::conj}},
        {{"<=", op::le},
         {">=", op::ge},
         {"==", op::eq},
         {"!=", op::ne},
         {"<", op::lt},
         {">", op::gt}},
        {{"+", op::add}, {"-", op::sub}},
        {{"*", op::mul}, {"/", op::div}, {"%", op::mod}},
    }};
    if (level == static_cast<int>(levels.size())) return unary();
    process_expr left = binary(level + 1);
    for (bool more = true; more;) {
      more = false;
      for (const auto& [text, o] : levels[static_cast<std::size_t>(level)]) {
        if (!eat(text)) continue;
        process_expr node;
        node.o = o;
        node.args.push_back(std::move(left));
        node.args.push_back(binary(level + 1));
        left = std::move(node);
        more = true;
        break;
      }
    }
    return left;
  }
  process_expr unary() {
    if (++depth_ > max_depth) fail("nested too deeply");
    process_expr e;
    if (eat("-") || eat("!")) {
      e.o = s_[at_ - 1] == '-' ? op::neg : op::inv;
      e.args.push_back(unary());
    } else {
      e = atom();
      if (eat("^")) {
        process_expr p;
        p.o = op::pow;
        p.args.push_back(std::move(e));
        p.args.push_back(unary());
        e = std::move(p);
      }
    }
    --depth_;
    return e;
  }
  process_expr atom() {
    skip();
    process_expr e;
    if (eat("(")) {
      e = binary(0);
      if (!eat(")")) fail("missing )");
      return e;
    }
    if (at_ < s_.size() &&
        (std::isdigit(static_cast<unsigned char>(s_[at_])) != 0 || s_[at_] == '.')) {
      std::size_t used = 0;
      e.number = std::stod(std::string(s_.substr(at_, 40)), &used);
      at_ += used;
      return e;
    }
    const std::string name = word();
    if (name.empty()) fail("expected a number, a variable, t or a function");
    if (eat("(")) return call(name);
    if (name == "t") {
      e.o = op::time;
      return e;
    }
    std::string why;
    const auto v = parse_plc_variable(name, "", lookup_, why);
    if (!v) fail(why);
    e.o = op::variable;
    e.var = *v;
    return e;
  }
  std::string word() {
    const std::size_t from = at_;
    while (at_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[at_])) != 0 ||
                               s_[at_] == '_' || (s_[at_] == '.' && at_ > from)))
      ++at_;
    return std::string(s_.substr(from, at_ - from));
  }
  process_expr call(const std::string& name) {
    const auto f = std::find_if(functions.begin(), functions.end(),
                                [&](const function_info& i) { return i.name == name; });
    if (f == functions.end()) fail(fmt::format("unknown function {}", name));
    process_expr e;
    e.o = op::call;
    e.fn = name;
    if (!eat(")")) {
      do e.args.push_back(binary(0));
      while (eat(","));
      if (!eat(")")) fail("missing ) after the arguments");
    }
    if (e.args.size() != f->arity) fail(fmt::format("{} takes {} argument(s)", name, f->arity));
    return e;
  }

  std::string_view s_;
  const variable_lookup& lookup_;
  std::size_t at_ = 0;
  int depth_ = 0;
};

double call_function(const process_expr& e, plc_memory& mem, double t) {
  std::array<double, 3> a{};
  for (std::size_t i = 0; i < e.args.size() && i < a.size(); ++i)
    a[i] = evaluate(e.args[i], mem, t);
  if (e.fn == "sin") return std::sin(a[0]);
  if (e.fn == "cos") return std::cos(a[0]);
  if (e.fn == "tan") return std::tan(a[0]);
  if (e.fn == "abs") return std::abs(a[0]);
  if (e.fn == "sqrt") return std::sqrt(a[0]);
  if (e.fn == "floor") return std::floor(a[0]);
  if (e.fn == "ceil") return std::ceil(a[0]);
  if (e.fn == "round") return std::round(a[0]);
  if (e.fn == "exp") return std::exp(a[0]);
  if (e.fn == "log") return std::log(a[0]);
  if (e.fn == "min") return std::min(a[0], a[1]);
  if (e.fn == "max") return std::max(a[0], a[1]);
  if (e.fn == "pow") return std::pow(a[0], a[1]);
  return std::clamp(a[0], std::min(a[1], a[2]), std::max(a[1], a[2]));  // clamp
}

double number(const json& d, const char* key, double fallback, std::string& why) {
  if (!d.contains(key)) return fallback;
  if (!d.at(key).is_number()) why = fmt::format("\"{}\" must be a number", key);
  return d.at(key).is_number() ? d.at(key).get<double>() : fallback;
}

constexpr std::array<std::string_view, 8> kind_names{"ramp",    "sine",   "square", "random_walk",
                                                     "counter", "toggle", "copy",   "expression"};

// The keys each kind takes (besides "kind").
std::vector<std::string_view> keys_of(process_kind k) {
  switch (k) {
    case process_kind::ramp:
      return {"min", "max", "period_s"};
    case process_kind::sine:
      return {"min", "max", "period_s", "phase_deg"};
    case process_kind::square:
      return {"min", "max", "period_s", "duty"};
    case process_kind::random_walk:
      return {"min", "max", "step", "seed", "start"};
    case process_kind::counter:
      return {"min", "max", "step", "every_ms"};
    case process_kind::toggle:
      return {"period_s"};
    case process_kind::copy:
      return {"source"};
    case process_kind::expression:
      return {"expression"};
  }
  return {};
}

void read_numbers(const json& d, process_def& p, std::string& why) {
  p.min = number(d, "min", p.kind == process_kind::counter ? 0 : p.min, why);
  p.max = number(d, "max",
                 p.kind == process_kind::square    ? 1
                 : p.kind == process_kind::counter ? 65535
                                                   : p.max,
                 why);
  p.period_s = number(d, "period_s", p.kind == process_kind::toggle ? 2 : p.period_s, why);
  p.phase_deg = number(d, "phase_deg", 0, why);
  p.duty = number(d, "duty", 0.5, why);
  p.step = number(d, "step", 1, why);
  if (d.contains("start")) p.start = number(d, "start", 0, why);
  const double every = number(d, "every_ms", 1000, why);
  const double seed = number(d, "seed", 1, why);
  if (!why.empty()) return;
  if (p.max < p.min)
    why = "\"max\" must not be below \"min\"";
  else if (!(p.period_s >= 0.1 && p.period_s <= 86400))
    why = "\"period_s\" must be 0.1 to 86400";
  else if (!(p.duty >= 0 && p.duty <= 1))
    why = "\"duty\" must be 0 to 1";
  else if (!(every >= 10 && every <= 86'400'000))
    why = "\"every_ms\" must be 10 to 86400000";
  else if (!(seed >= 0 && seed < 9.0e15))
    why = "\"seed\" must be a whole number 0 or more";
  else if (!(p.step > 0))
    why = "\"step\" must be above 0";
  p.every_ms = static_cast<std::uint32_t>(every);
  p.seed = static_cast<std::uint64_t>(seed);
}

}  // namespace

double evaluate(const process_expr& e, plc_memory& mem, double t) {
  const auto arg = [&](std::size_t i) { return evaluate(e.args[i], mem, t); };
  switch (e.o) {
    case op::number:
      return e.number;
    case op::time:
      return t;
    case op::variable:
      return read_plc_variable(mem, e.var).value_or(0.0);
    case op::neg:
      return -arg(0);
    case op::inv:
      return arg(0) == 0 ? 1 : 0;
    case op::add:
      return arg(0) + arg(1);
    case op::sub:
      return arg(0) - arg(1);
    case op::mul:
      return arg(0) * arg(1);
    case op::div:
      return arg(0) / arg(1);
    case op::mod:
      return std::fmod(arg(0), arg(1));
    case op::pow:
      return std::pow(arg(0), arg(1));
    case op::lt:
      return arg(0) < arg(1) ? 1 : 0;
    case op::le:
      return arg(0) <= arg(1) ? 1 : 0;
    case op::gt:
      return arg(0) > arg(1) ? 1 : 0;
    case op::ge:
      return arg(0) >= arg(1) ? 1 : 0;
    case op::eq:
      return arg(0) == arg(1) ? 1 : 0;
    case op::ne:
      return arg(0) != arg(1) ? 1 : 0;
    case op::conj:
      return arg(0) != 0 && arg(1) != 0 ? 1 : 0;
    case op::disj:
      return arg(0) != 0 || arg(1) != 0 ? 1 : 0;
    case op::call:
      return call_function(e, mem, t);
  }
  return 0;
}

std::string_view process_kind_name(process_kind k) {
  return kind_names[static_cast<std::size_t>(k)];
}

std::optional<process_def> parse_process(std::string_view text, const store::type_spec& target,
                                         const variable_lookup& lookup, std::string& why) {
  why.clear();
  const json d = json::parse(text, nullptr, false);
  if (d.is_discarded() || !d.is_object() || !d.contains("kind") || !d.at("kind").is_string()) {
    why = "expected {\"kind\": \"ramp\" | \"sine\" | ..., and its parameters}";
    return std::nullopt;
  }
  const auto k = std::find(kind_names.begin(), kind_names.end(), d.at("kind").get<std::string>());
  if (k == kind_names.end()) {
    why = fmt::format("unknown kind \"{}\" (one of {})",
                      d.at("kind").get<std::string>().substr(0, 32), fmt::join(kind_names, ", "));
    return std::nullopt;
  }
  process_def p;
  p.kind = static_cast<process_kind>(k - kind_names.begin());
  const auto allowed = keys_of(p.kind);
  for (const auto& [key, v] : d.items())
    if (key != "kind" && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      why = fmt::format("\"{}\" does not apply to {} (it takes {})", key, *k,
                        fmt::join(allowed, ", "));
      return std::nullopt;
    }
  read_numbers(d, p, why);
  if (why.empty() && p.kind == process_kind::toggle && !target.is_bool())
    why = "toggle drives a BOOL";
  if (why.empty() && p.kind == process_kind::copy) {
    p.source =
        d.contains("source") && d.at("source").is_string() ? d.at("source").get<std::string>() : "";
    p.source_variable = parse_plc_variable(p.source, "", lookup, why);
  }
  if (why.empty() && p.kind == process_kind::expression) {
    p.expression = d.contains("expression") && d.at("expression").is_string()
                       ? d.at("expression").get<std::string>()
                       : "";
    if (p.expression.empty() || p.expression.size() > max_expression_length) {
      why = fmt::format("\"expression\" must be 1 to {} characters", max_expression_length);
    } else {
      try {
        p.expr = std::make_shared<process_expr>(expr_parser(p.expression, lookup).parse());
      } catch (const std::exception& e) {
        why = fmt::format("expression: {}", e.what());
      }
    }
  }
  if (!why.empty()) return std::nullopt;
  return p;
}

std::string process_json(const process_def& p) {
  json d;
  d["kind"] = std::string(process_kind_name(p.kind));
  for (std::string_view key : keys_of(p.kind)) {
    const std::string k(key);
    if (k == "min")
      d[k] = p.min;
    else if (k == "max")
      d[k] = p.max;
    else if (k == "period_s")
      d[k] = p.period_s;
    else if (k == "phase_deg")
      d[k] = p.phase_deg;
    else if (k == "duty")
      d[k] = p.duty;
    else if (k == "step")
      d[k] = p.step;
    else if (k == "seed")
      d[k] = p.seed;
    else if (k == "start" && p.start)
      d[k] = *p.start;
    else if (k == "every_ms")
      d[k] = p.every_ms;
    else if (k == "source")
      d[k] = p.source;
    else if (k == "expression")
      d[k] = p.expression;
  }
  return d.dump();
}

variable_lookup definitions_lookup(std::vector<store::variable_definition> defs) {
  auto shared = std::make_shared<const std::vector<store::variable_definition>>(std::move(defs));
  return [shared](std::string_view name) -> std::optional<plc_variable> {
    // "DB<n>.<name>"
    if (name.size() < 4 || (name[0] != 'D' && name[0] != 'd') || (name[1] != 'B' && name[1] != 'b'))
      return std::nullopt;
    const auto dot = name.find('.');
    if (dot == std::string_view::npos || dot < 3) return std::nullopt;
    std::uint32_t db = 0;
    for (char c : name.substr(2, dot - 2)) {
      if (c < '0' || c > '9' || (db = db * 10 + static_cast<std::uint32_t>(c - '0')) > 65535)
        return std::nullopt;
    }
    const std::string_view var = name.substr(dot + 1);
    for (const store::variable_definition& d : *shared) {
      if (d.db != db || d.name != var) continue;
      plc_variable v;
      v.db = d.db;
      v.byte = d.byte_offset;
      v.bit = d.bit_offset;
      v.type = d.type;
      v.label = std::string(name);
      return v;
    }
    return std::nullopt;
  };
}

std::vector<driven_variable> driven_from(const store::catalog& c,
                                         std::vector<std::string>& problems) {
  const variable_lookup lookup = definitions_lookup({c.variables.begin(), c.variables.end()});
  std::vector<driven_variable> out;
  for (const store::variable& v : c.variables) {
    const auto it = c.processes.find(v.id);
    if (it == c.processes.end()) continue;
    const std::string label = fmt::format("DB{}.{}", v.db, v.name);
    std::string why;
    const auto target = parse_plc_variable(label, "", lookup, why);
    const auto def = target ? parse_process(it->second, v.type, lookup, why) : std::nullopt;
    if (!def) {
      problems.push_back(fmt::format("{}: its process definition is not used: {}", label, why));
      continue;
    }
    out.push_back({v.id, *target, *def});
  }
  return out;
}

// --- the simulation --------------------------------------------------------------------------

process_sim::process_sim(std::chrono::milliseconds tick) : tick_(tick) {}

process_sim::~process_sim() {
  stop();
}

void process_sim::set(std::vector<driven_variable> vars) {
  const std::lock_guard lock{mu_};
  std::vector<state> next;
  for (driven_variable& v : vars) {
    const auto old = std::find_if(vars_.begin(), vars_.end(), [&](const state& s) {
      return v.id != 0 && s.v.id == v.id && process_json(s.v.def) == process_json(v.def) &&
             s.v.variable == v.variable;
    });
    if (old != vars_.end()) {
      next.push_back(std::move(*old));
      continue;
    }
    state s;
    s.rng.seed(v.def.seed);
    s.v = std::move(v);
    next.push_back(std::move(s));
  }
  vars_ = std::move(next);
}

std::vector<driven_variable> process_sim::driven() const {
  const std::lock_guard lock{mu_};
  std::vector<driven_variable> out;
  for (const state& s : vars_) out.push_back(s.v);
  return out;
}

double process_sim::value_of(state& s, plc_memory& mem, double t) const {
  const process_def& d = s.v.def;
  const double span = d.max - d.min;
  const double phase = std::fmod(t, d.period_s) / d.period_s;  // 0 .. 1 within the period
  switch (d.kind) {
    case process_kind::ramp:
      return d.min + span * phase;
    case process_kind::sine:
      return d.min + span / 2 *
                         (1 + std::sin(2 * std::numbers::pi * phase +
                                       d.phase_deg * std::numbers::pi / 180));
    case process_kind::square:
      return phase < d.duty ? d.max : d.min;
    case process_kind::toggle:
      return phase < 0.5 ? 1 : 0;
    case process_kind::random_walk:
      if (!s.started) {
        s.walk = d.start.value_or(d.min + span / 2);
        s.started = true;
      } else {
        s.walk += std::uniform_real_distribution<double>(-d.step, d.step)(s.rng);
      }
      s.walk = std::clamp(s.walk, d.min, d.max);
      return s.walk;
    case process_kind::counter: {
      const double n = std::floor(t * 1000 / d.every_ms);
      return d.min + std::fmod(n * d.step, span + d.step);
    }
    case process_kind::copy:
      return d.source_variable ? read_plc_variable(mem, *d.source_variable).value_or(0) : 0;
    case process_kind::expression:
      return d.expr ? evaluate(*d.expr, mem, t) : 0;
  }
  return 0;
}

void process_sim::tick(plc_memory& mem, double t) {
  const std::lock_guard lock{mu_};
  for (state& s : vars_) {
    const double v = value_of(s, mem, t);
    const auto now = read_plc_variable(mem, s.v.variable);
    if (!now) continue;  // its DB is gone
    // Written only when it changes what a client reads (REAL: as a float).
    const double want = s.v.variable.type.kind == store::s7_kind::real
                            ? static_cast<double>(static_cast<float>(v))
                        : s.v.variable.type.is_float() ? v
                                                       : std::round(v);
    if (*now != want) (void)write_plc_variable(mem, s.v.variable, v);
  }
  ticks_.fetch_add(1);
}

void process_sim::start(server& srv, plc_memory& mem) {
  stopping_ = false;
  thread_ = std::thread([this, &srv, &mem] { loop(srv, mem); });
}

void process_sim::loop(server& srv, plc_memory& mem) {
  const auto t0 = std::chrono::steady_clock::now();
  for (auto next = t0;;) {
    next += tick_;
    {
      std::unique_lock lock{stop_mu_};
      if (stop_cv_.wait_until(lock, next, [this] { return stopping_; })) return;
    }
    if (busy_.exchange(true)) continue;  // the loop has not run the last tick yet: skip one
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    plc_memory* m = &mem;
    if (!srv.post([this, m, t] { tick(*m, t); }, [this](bool) { busy_.store(false); })) {
      busy_.store(false);
      return;
    }
  }
}

void process_sim::stop() {
  {
    const std::lock_guard lock{stop_mu_};
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // A tick still queued in the loop refers to this object: wait until it ran or was dropped.
  for (int i = 0; i < 1000 && busy_.load(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

}  // namespace protos7::server
