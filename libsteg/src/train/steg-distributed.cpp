// SPDX-License-Identifier: MIT
#include "steg-distributed.h"

#include "steg-error.h"

#include <torch/torch.h>
#include <torch/version.h>

#ifdef STEG_HAVE_GLOO
#    ifndef USE_C10D_GLOO
#        define USE_C10D_GLOO
#    endif
#    include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#    include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#    include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

#include <chrono>
#include <cmath>

namespace steg {

namespace {

int parse_int(const std::string & name, const std::string & text, int lo, int hi) {
    size_t used = 0;
    long   v    = 0;
    try {
        v = std::stol(text, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    if (used != text.size() || text.empty() || v < lo || v > hi) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, name + "='" + text + "' is not a whole number from " + std::to_string(lo) +
                                                   " to " + std::to_string(hi));
    }
    return int(v);
}

}  // namespace

std::vector<Pair> shard_for_rank(const std::vector<Pair> & pairs, int batch, int world_size, int rank) {
    const size_t      block = size_t(batch), steps = pairs.size() / (block * size_t(world_size));
    std::vector<Pair> out;
    out.reserve(steps * block);
    for (size_t s = 0; s < steps; ++s) {
        const size_t first = (s * size_t(world_size) + size_t(rank)) * block;
        for (size_t i = first; i < first + block; ++i) {
            Pair p = pairs[i];
            p.slot = p.slot >= 0 ? p.slot : int64_t(i);
            out.push_back(p);
        }
    }
    return out;
}

void parse_master(const std::string & text, DistOptions & o) {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "--master '" + text + "' is not HOST:PORT (for example node01:29500)");
    }
    o.master_addr = text.substr(0, colon);
    o.master_port = parse_int("the port of --master", text.substr(colon + 1), 1, 65535);
}

DistOptions dist_options_from_env(const std::map<std::string, std::string> & env, DistOptions o) {
    auto get = [&](const char * name) -> const std::string * {
        auto it = env.find(name);
        return it == env.end() || it->second.empty() ? nullptr : &it->second;
    };
    if (auto * v = get("WORLD_SIZE")) o.world_size = parse_int("WORLD_SIZE", *v, 1, 1 << 20);
    if (auto * v = get("RANK")) o.rank = parse_int("RANK", *v, 0, (1 << 20) - 1);
    if (auto * v = get("MASTER_ADDR")) o.master_addr = *v;
    if (auto * v = get("MASTER_PORT")) o.master_port = parse_int("MASTER_PORT", *v, 1, 65535);
    if (auto * v = get("TORCHELASTIC_USE_AGENT_STORE")) o.agent_store = *v == "True" || *v == "true" || *v == "1";
    if (auto * v = get("TORCHELASTIC_RESTART_COUNT")) o.restart = parse_int("TORCHELASTIC_RESTART_COUNT", *v, 0, 1 << 20);
    if (auto * v = get("GLOO_SOCKET_IFNAME")) o.interface = *v;
    return o;
}

#ifdef STEG_HAVE_GLOO

struct Communicator::Impl {
    c10::intrusive_ptr<c10d::Store>            store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

namespace {

std::chrono::milliseconds to_ms(double s) {
    return std::chrono::milliseconds(int64_t(std::llround(s * 1000)));
}

}  // namespace

Communicator::Communicator(const DistOptions & o) : opt_(o), impl_(std::make_unique<Impl>()) {
    if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "rank " + std::to_string(o.rank) + " is not in a job of " +
                                                   std::to_string(o.world_size) + " processes (ranks 0 to " +
                                                   std::to_string(o.world_size - 1) + ")");
    }
    const std::string job = "the job at " + o.master_addr + ":" + std::to_string(o.master_port);
    try {
        c10d::TCPStoreOptions so;
        so.port       = uint16_t(o.master_port);
        so.isServer   = o.rank == 0 && !o.agent_store;
        so.numWorkers = size_t(o.world_size);
        so.waitWorkers = false;  // the process group's own rendezvous below waits for everyone
        so.timeout    = to_ms(o.timeout_s);
#    if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
        so.useLibUV = false;  // the classic server: distributions' libtorch may lack libuv
#    endif
        auto tcp     = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
        impl_->store = c10::make_intrusive<c10d::PrefixStore>("steg/attempt_" + std::to_string(o.restart), tcp);
        auto opts    = c10d::ProcessGroupGloo::Options::create(to_ms(o.timeout_s));
        opts->devices.push_back(o.interface.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                                                    : c10d::ProcessGroupGloo::createDeviceForInterface(o.interface));
        impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, o.rank, o.world_size, opts);
    } catch (const Error &) {
        throw;
    } catch (const std::exception & e) {
        const std::string what = e.what();
        throw Error(STEG_ERR_INTERNAL, "rank " + std::to_string(o.rank) + " could not join " + job + " of " +
                                           std::to_string(o.world_size) + " processes within " +
                                           std::to_string(int(o.timeout_s)) + " s: " + what.substr(0, what.find('\n')));
    }
}

Communicator::~Communicator() = default;

namespace {

template <class F> void collective(const DistOptions & o, const char * what, F && f) {
    try {
        f();
    } catch (const std::exception & e) {
        const std::string msg = e.what();
        throw Error(STEG_ERR_INTERNAL, std::string(what) + " failed on rank " + std::to_string(o.rank) + " of " +
                                           std::to_string(o.world_size) +
                                           ": another rank stopped, or did not answer within " +
                                           std::to_string(int(o.timeout_s)) + " s (--dist-timeout): " +
                                           msg.substr(0, msg.find('\n')));
    }
}

}  // namespace

void Communicator::broadcast(const std::vector<at::Tensor> & tensors) {
    collective(opt_, "broadcasting rank 0's weights", [&] {
        for (const auto & t : tensors) {
            // Gloo wants dense contiguous tensors: channels-last weights go through a copy.
            std::vector<at::Tensor> one = { t.detach().contiguous() };
            c10d::BroadcastOptions  bo;
            bo.rootRank = 0;
            impl_->group->broadcast(one, bo)->wait();
            if (!one[0].is_same(t)) {
                torch::NoGradGuard g;
                t.detach().copy_(one[0]);
            }
        }
    });
}

void Communicator::all_reduce_sum(at::Tensor & flat) {
    collective(opt_, "the gradient all-reduce", [&] {
        std::vector<at::Tensor> one = { flat };
        impl_->group->allreduce(one)->wait();
    });
}

void Communicator::barrier() {
    collective(opt_, "the barrier", [&] { impl_->group->barrier()->wait(); });
}

#else  // no Gloo headers at build time

struct Communicator::Impl {};

Communicator::Communicator(const DistOptions & o) : opt_(o) {
    throw Error(STEG_ERR_INVALID_ARGUMENT, "this steg-trainer was built without Gloo, so it cannot train across "
                                           "processes: install Gloo's headers (Debian: libgloo-dev) and rebuild");
}
Communicator::~Communicator() = default;
void Communicator::broadcast(const std::vector<at::Tensor> &) {}
void Communicator::all_reduce_sum(at::Tensor &) {}
void Communicator::barrier() {}

#endif

}  // namespace steg
