// Results of a herald-bench run: every repeat of every system, their medians, the table on
// stdout and the JSON file. Layer: bench (driver).
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "bench/herald-bench/plan.h"
#include "bench/herald-bench/runner.h"
#include "core/result.h"

namespace herald::bench {

// What one system of one cell gave over its repeats.
struct Measurement {
    std::string key;
    std::string label;
    std::vector<Figures> repeats;     // Successful runs only.
    std::vector<std::string> errors;  // One per failed run.
    bool missing = false;             // Its peer binary is not built (never ran).
    std::string skipped;              // Why it cannot run here (never ran); "" when it can.
    Figures median;                   // Per figure, over `repeats`.

    // Median of each figure over the repeats that have it.
    void finish();
};

struct CellResult {
    Cell cell;
    std::map<std::string, Measurement> systems;  // By SystemRun::key.
};

// The machine the figures come from (CPU model, cores, kernel, memory, compiler).
struct Machine {
    std::string cpu, kernel, compiler, build;
    unsigned cores = 0;
    double memory_gib = 0;
};
[[nodiscard]] Machine describe_machine();

// Median of `values` (mean of the middle two for an even count); 0 when empty.
[[nodiscard]] double median(std::vector<double> values);

// herald / alternative as printed in the table: "0.76"; "-" when either is missing.
[[nodiscard]] std::string ratio_text(const Measurement* herald, const Measurement* other,
                                     const std::string& figure);

// The one table of a run (and the memory figures below it), as herald-bench prints it.
void print_table(std::ostream& out, const Mode& mode, const Machine& machine,
                 const std::vector<CellResult>& results);

// Writes every repeat, median and error as JSON. Errc::io_error when the file cannot be
// written (its directory is created when missing).
[[nodiscard]] Status write_json(const std::string& path, const Mode& mode, const Machine& machine,
                                const std::vector<CellResult>& results);

}  // namespace herald::bench
