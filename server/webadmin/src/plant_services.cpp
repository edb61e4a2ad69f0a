#include "plant_services.hpp"

#include <fmt/format.h>

#include "protos7/server/log.hpp"

namespace protos7::webadmin {

plant_services::plant_services(const options& base, server::plant& p) : base_(base), plant_(p) {}

plant_services::~plant_services() {
  for (auto& [name, e] : made_) e->svc->stop_sampler();
}

service* plant_services::find(std::string_view name) {
  server::plant::plc* p = plant_.find(name);
  if (p == nullptr) return nullptr;
  const std::lock_guard lock{mu_};
  if (const auto it = made_.find(name); it != made_.end()) return it->second->svc.get();
  auto e = std::make_unique<entry>();
  e->opt = base_;
  e->opt.sqlite_path = p->sqlite_path();
  e->opt.bin_dir = p->bin_dir();
  {
    const server::log_scope scope{&p->log};
    e->svc = std::make_unique<service>(e->opt, p->srv, p->mem, p->cfg);
  }
  // The monitor sees the PLC's traffic from now on; it is set on the loop thread, which calls it.
  traffic_monitor* mon = &e->svc->monitor();
  server::server* srv = &p->srv;
  (void)srv->post([srv, mon] { srv->set_observer(mon); });
  service* s = e->svc.get();
  s->start_sampler();  // the PLC's trends, from when it is first addressed
  made_.emplace(std::string(name), std::move(e));
  return s;
}

json plant_services::plc_json(const server::plant::plc& p) const {
  const server::log_context::problem last = p.log.last_problem();
  json j;
  j["name"] = p.name;
  j["listen"] = fmt::format("{}:{}", p.cfg.listen_address, p.srv.port());
  j["thread"] = p.shard;
  j["mode"] = p.mode.load() == server::operating_mode::run ? "RUN" : "STOP";
  j["connections"] = p.srv.connection_count();
  j["max_connections"] = p.cfg.max_connections;
  j["requests_total"] = p.srv.stats().requests;
  j["requests_per_s"] = p.requests_per_s.load();
  j["rack"] = p.cfg.rack;
  j["slot"] = p.cfg.slot;
  if (last.count == 0) {
    j["last_error"] = nullptr;
  } else {
    j["last_error"] = {{"text", last.text}, {"at", iso_time(last.at)}, {"count", last.count}};
  }
  return j;
}

json plant_services::overview() const {
  json list = json::array();
  for (std::size_t i = 0; i < plant_.size(); ++i) list.push_back(plc_json(plant_.at(i)));
  json j = session_info();
  j["started_at"] = iso_time(started_);
  return {{"plant", std::move(j)}, {"plcs", std::move(list)}};
}

json plant_services::summary(std::string_view name) const {
  server::plant::plc* p = plant_.find(name);
  return p == nullptr ? json() : plc_json(*p);
}

json plant_services::session_info() const {
  return {{"name", plant_.name()},
          {"source", plant_.source()},
          {"plcs", plant_.size()},
          {"threads", plant_.threads()}};
}

}  // namespace protos7::webadmin
