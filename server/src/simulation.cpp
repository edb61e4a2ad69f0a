// Fault rules, scenario and living process for `protos7 serve` (simulation.hpp).
#include "protos7/server/simulation.hpp"

#include "protos7/server/app.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/server.hpp"
#include "protos7/server/storage.hpp"

namespace protos7::server {

simulation::~simulation() {
  stop();
}

status simulation::prepare(const serve_options& opt, const config& cfg, server& srv,
                           plc_memory& mem) {
  srv_ = &srv;
  mem_ = &mem;
  try {
    if (!opt.faults_path.empty()) {
      srv.faults().set_rules(load_fault_rules(opt.faults_path));
      if (cfg.profile != nullptr && cfg.profile->faults)
        log(log_level::info, "--faults {} replaces the profile's fault rules", opt.faults_path);
    } else if (cfg.profile != nullptr && cfg.profile->faults) {
      srv.faults().set_rules(*cfg.profile->faults);
    }
    const std::string sqlite =
        opt.sqlite_path.empty() ? opt.data_dir + "/protos7.db" : opt.sqlite_path;
    const catalog c = load_catalog(sqlite);
    std::vector<std::string> problems;
    process_.set(driven_from(c, problems));
    for (const std::string& p : problems) log(log_level::warn, "{}", p);
    if (!process_.driven().empty())
      log(log_level::info, "living process: {} driven variable(s)", process_.driven().size());
    if (!opt.scenario_path.empty()) {
      scenario sc = load_scenario(opt.scenario_path,
                                  definitions_lookup({c.variables.begin(), c.variables.end()}));
      for (const scenario_step& s : sc.steps)
        if (s.what == scenario_step::kind::fault &&
            std::none_of(srv.faults().rules().rules.begin(), srv.faults().rules().rules.end(),
                         [&](const fault_rule& r) { return r.name == s.fault; }))
          log(log_level::warn, "{}: no fault rule is named \"{}\" (yet)", opt.scenario_path,
              s.fault);
      log(log_level::info, "scenario {}: {} step(s), {}", opt.scenario_path, sc.steps.size(),
          sc.passes == 0 ? std::string("repeated for ever")
                         : fmt::format("{} pass(es)", sc.passes));
      scenario_ = std::make_unique<scenario_runner>(std::move(sc), srv, mem);
    }
  } catch (const std::exception& e) {
    return status::failure(e.what());
  }
  return {};
}

void simulation::start() {
  if (srv_ == nullptr) return;
  process_.start(*srv_, *mem_);
  if (scenario_) scenario_->start();
}

void simulation::stop() {
  if (scenario_) scenario_->stop();
  process_.stop();
}

}  // namespace protos7::server
