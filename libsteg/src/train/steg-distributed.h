// SPDX-License-Identifier: MIT
// steg-distributed.h - data-parallel training across processes and machines with
// libtorch's own distributed layer (c10d): a TCPStore for the rendezvous and Gloo for
// the collectives on CPU. The launch follows PyTorch's: torchrun's environment (RANK,
// WORLD_SIZE, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_USE_AGENT_STORE) or explicit
// options for mpirun and SLURM scripts.
//
// DistOptions is plain C++; the Communicator is used only by steg-train.cpp, so the
// torch header it pulls in stays out of the rest of the build.
#pragma once

#include "steg-data.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace at {
class Tensor;
}

namespace steg {

struct DistOptions {
    int         world_size = 1;  // 1: a single process, nothing to join
    int         rank       = 0;
    std::string master_addr = "127.0.0.1";
    int         master_port = 29500;
    // How long a collective (or the rendezvous) waits for the other ranks before this
    // rank gives up with an error, so a dead rank never leaves the others hanging.
    double timeout_s = 300;
    // torchrun's agent already serves the TCPStore at MASTER_PORT: every rank connects
    // to it as a client (TORCHELASTIC_USE_AGENT_STORE=True).
    bool        agent_store  = false;
    int         restart      = 0;    // TORCHELASTIC_RESTART_COUNT: keys of a restarted job are fresh
    std::string interface;           // GLOO_SOCKET_IFNAME: the network interface Gloo uses
};

// DistOptions from a torchrun-style environment (`env` as name -> value). Variables that
// are absent keep `base`'s values; malformed ones throw steg::Error(STEG_ERR_INVALID_ARGUMENT).
DistOptions dist_options_from_env(const std::map<std::string, std::string> & env, DistOptions base = {});

// "host:port" -> master_addr, master_port. Throws steg::Error(STEG_ERR_INVALID_ARGUMENT).
void parse_master(const std::string & text, DistOptions & o);

// The pairs of one epoch that `rank` of `world_size` trains: step s of every rank takes
// the consecutive blocks s * world_size + rank of `batch` pairs, so the ranks' batches of
// a step are together exactly the single-process batch of world_size * batch pairs.
// Blocks that do not fill a step of every rank are dropped. Each pair keeps its place
// in the epoch (Pair::slot), which seeds its crop.
std::vector<Pair> shard_for_rank(const std::vector<Pair> & pairs, int batch, int world_size, int rank);

// One process's membership of the job. Every call is collective: all ranks make the
// same calls in the same order. Failures (a rank that died, a timeout) throw
// steg::Error(STEG_ERR_INTERNAL) naming the job and the timeout.
class Communicator {
  public:
    explicit Communicator(const DistOptions & o);  // rendezvous; throws after timeout_s
    ~Communicator();

    int rank() const { return opt_.rank; }
    int world_size() const { return opt_.world_size; }

    // Copies rank 0's tensors into every rank's (in place).
    void broadcast(const std::vector<at::Tensor> & tensors);

    // Sums `flat` (one contiguous fp32 tensor) over the ranks, in place.
    void all_reduce_sum(at::Tensor & flat);

    void barrier();

  private:
    struct Impl;
    DistOptions           opt_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace steg
