#include "plant_command.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <string_view>

#include "protos7/server/exit_codes.hpp"

namespace protos7::cli {

namespace {

// The serve flags that are per PLC: with --plant they belong in the plant file.
constexpr const char* per_plc_flags[] = {"--listen",
                                         "--port",
                                         "--max-connections",
                                         "--rack",
                                         "--slot",
                                         "--pdu-size",
                                         "--max-amq",
                                         "--idle-timeout",
                                         "--setup-timeout",
                                         "--frame-timeout",
                                         "--max-connections-per-address",
                                         "--data-dir",
                                         "--sqlite-path",
                                         "--db-bin-path",
                                         "--inputs-size",
                                         "--outputs-size",
                                         "--flags-size",
                                         "--counters",
                                         "--timers",
                                         "--profile",
                                         "--order-number",
                                         "--firmware-version",
                                         "--as-name",
                                         "--module-name",
                                         "--plant-id",
                                         "--copyright",
                                         "--serial-number",
                                         "--module-type",
                                         "--memory-card-serial",
                                         "--validate",
                                         "--validate-dir",
                                         "--capture",
                                         "--capture-port",
                                         "--faults",
                                         "--scenario"};

}  // namespace

// `serve --plant` with a per-PLC flag: fails with the message naming it.
server::status plant_flag_conflict(const CLI::App& serve) {
  for (const char* f : per_plc_flags)
    if (serve.count(f) > 0)
      return server::status::failure(fmt::format(
          "{} is a setting of one PLC: with --plant put it in the plant file (per PLC, or in "
          "\"defaults\" for all; docs/PLANT.md){}",
          f,
          std::string_view(f).starts_with("--validate") ||
                  std::string_view(f).starts_with("--capture") ||
                  std::string_view(f) == "--scenario"
              ? " - --validate, --capture and --scenario are not available for plants yet"
              : ""));
  return {};
}

// `protos7 plant`: writes the plant file (or prints it with -o -).
int run_plant(const plant_command& c) {
  const server::plant_generate_options& o = c.opt;
  std::string text;
  try {
    text = server::generate_plant(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "protos7 plant: %s\n", e.what());
    return exit_code::usage;
  }
  if (o.output == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return exit_code::ok;
  }
  std::ofstream out(o.output, std::ios::binary | std::ios::trunc);
  if (!out || !out.write(text.data(), static_cast<std::streamsize>(text.size())) || !out.flush()) {
    std::fprintf(stderr, "protos7 plant: cannot write %s\n", o.output.c_str());
    return exit_code::cant_create;
  }
  std::fprintf(stderr, "protos7 plant: %zu PLC(s) written to %s (protos7 serve --plant %s)\n",
               o.count, o.output.c_str(), o.output.c_str());
  return exit_code::ok;
}

// serve --plant FILE [--threads N].
void add_plant_serve_options(CLI::App& serve, std::string& plant_path, unsigned& threads) {
  serve
      .add_option(
          "--plant", plant_path,
          "Serve a plant: the PLCs of this plant file, each at its own address (docs/PLANT.md; "
          "protos7 plant writes one)")
      ->check(CLI::ExistingFile);
  serve
      .add_option(
          "--threads", threads,
          "Event loops of a plant, each serving a shard of its PLCs (0: one per core; a single "
          "PLC always runs on one loop)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
}

void add_plant(CLI::App& app, plant_command& c) {
  server::plant_generate_options& o = c.opt;
  CLI::App* plant = app.add_subcommand(
      "plant",
      "Write a plant file of N PLCs at consecutive addresses, each with its own name and serial "
      "number (protos7 serve --plant FILE serves it)");
  plant->add_option("--count", o.count, "Number of PLCs")->required()->check(CLI::Range(1, 100000));
  plant
      ->add_option("--listen-base", o.listen_base,
                   "Address of the first PLC, HOST:PORT; the next ones count the address up")
      ->capture_default_str();
  plant->add_flag(
      "--vary-port", o.vary_port,
      "Count the port up instead of the address (all PLCs on HOST; no root needed above 1023)");
  plant
      ->add_option("--profile", o.profile,
                   "PLC profile of every PLC (docs/PROFILE.md); default: bundled")
      ->check(CLI::ExistingFile);
  plant->add_option("--name", o.name, "Name of the plant")->capture_default_str();
  plant->add_option("--prefix", o.prefix, "PLC names: PREFIX-0001, PREFIX-0002, ...")
      ->capture_default_str();
  plant->add_option("-o,--output", o.output, "Plant file to write (- for stdout)")->required();
  c.app = plant;
}

}  // namespace protos7::cli
