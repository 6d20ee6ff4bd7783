// The speed of attune's inner-loop shape alone: a register tile of 6 rows x 2 vectors
// (broadcast one A value per row, load two B vectors, 12 FMAs per step), as the QK^T and PV
// loops run it, on every core. With its operands in L1 it shows what the FMA pipes give such a
// loop; streaming B from L2 it shows what cache traffic costs (the gap between the FMA peak and
// what any GEMM-shaped kernel reaches on this machine).
#pragma once

namespace attune::bench {

// One round on every hardware thread over `keys` steps of B rows `row_floats` apart (walking
// the row in tile-wide slices, as PV walks head_dim; at least one slice); returns the FLOPs done.
double run_register_tile(int keys, int row_floats, long repetitions);

}  // namespace attune::bench
