// SPDX-License-Identifier: MIT
// Data-parallel training over Gloo on loopback: two ranks end where one process trained
// on the union of their batches ends, every rank holds the same weights, only rank 0
// writes, resume works, torchrun's environment is honoured (including its agent's
// store), and a rank that dies makes the other exit with a message, not hang. Every rank
// is a process of its own, as under torchrun.
#include "steg-distributed.h"
#include "steg-error.h"
#include "steg-model.h"
#include "steg-train.h"
#include "test-train-util.h"
#include "test-util.h"

#include <gtest/gtest.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>
#include <torch/version.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

using steg_test::synthetic_set;
using steg_test::TempDir;

namespace {

// A loopback port that was free a moment ago.
int free_port() {
    const int   fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family      = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port        = 0;
    socklen_t len     = sizeof a;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0) {
        ADD_FAILURE() << "no free port";
    }
    close(fd);
    return ntohs(a.sin_port);
}

// A process in the background; its pid.
pid_t spawn(const std::string & cmd) {
    const pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char *>(nullptr));
        _exit(127);
    }
    return pid;
}

int wait_exit(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Trains `epochs` epochs of a synthetic set with `world` ranks, each a steg-test-rank
// process (rank-worker.cpp) as under torchrun, or one process when world == 1; returns
// each rank's weights.
std::vector<std::vector<float>> train_ranks(int world, int batch, int epochs) {
    TempDir                         d;
    const int                       port = free_port();
    std::vector<pid_t>              pids;
    for (int r = 0; r < world; ++r) {
        const std::string cmd = STEG_TEST_RANK " " + std::to_string(world) + " " + std::to_string(r) + " " +
                                std::to_string(batch) + " " + std::to_string(epochs) + " " + std::to_string(port) +
                                " " + d.file("w" + std::to_string(r)) + " 2>" + d.file("e" + std::to_string(r));
        pids.push_back(spawn(cmd));
    }
    std::vector<std::vector<float>> weights(static_cast<size_t>(world));
    for (int r = 0; r < world; ++r) {
        EXPECT_EQ(wait_exit(pids[size_t(r)]), 0) << "rank " << r << ": " << steg_test::read_file(d.file("e" + std::to_string(r)));
        std::ifstream f(d.file("w" + std::to_string(r)), std::ios::binary);
        float         v;
        while (f.read(reinterpret_cast<char *>(&v), sizeof v)) {
            weights[size_t(r)].push_back(v);
        }
    }
    return weights;
}

double max_abs_diff(const std::vector<float> & a, const std::vector<float> & b) {
    EXPECT_EQ(a.size(), b.size());
    double m = 0;
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        m = std::max(m, double(std::abs(a[i] - b[i])));
    }
    return m;
}

int run(const std::string & cmd, const TempDir & d, std::string * err = nullptr) {
    const int rc = std::system((cmd + " >" + d.file("o") + " 2>" + d.file("e")).c_str());
    if (err) *err = steg_test::read_file(d.file("e"));
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

void write_data(const TempDir & d) {
    std::filesystem::create_directories(d.file("data"));
    for (int i = 0; i < 12; ++i) {
        steg_test::Image img(20, 20, STEG_FORMAT_RGB8);
        steg_test::fill_synthetic(img.img, uint32_t(i + 90));
        steg_image_save(d.file("data/" + std::to_string(i) + ".png").c_str(), &img.img, 0);
    }
}

}  // namespace

TEST(Distributed, TwoRanksEqualOneProcessOnTheUnionOfTheirBatches) {
    // Two ranks of batch 2 against one process of batch 4 over the same epochs: the
    // ranks' batches of a step are the single process's batch, and the averaged
    // gradient is the gradient of its mean loss, so the weights agree to float rounding.
    const auto ranks  = train_ranks(2, 2, 3);
    const auto single = train_ranks(1, 4, 3);
    ASSERT_FALSE(ranks[0].empty());
    EXPECT_EQ(ranks[0], ranks[1]);  // every rank holds the same weights, bit for bit
    EXPECT_LT(max_abs_diff(ranks[0], single[0]), 1e-5);
    // ... and training did move them: the comparison is not between two untouched inits.
    EXPECT_GT(max_abs_diff(single[0], train_ranks(1, 4, 0)[0]), 1e-3);
}

TEST(Distributed, ShardsAreTheBlocksOfEachStepAndKeepTheirPlace) {
    std::vector<steg::Pair> pairs;
    for (int i = 0; i < 11; ++i) {
        pairs.push_back({ i, 100 + i });
    }
    // batch 2, 2 ranks: steps take 4 pairs; 11 pairs give 2 steps (3 pairs dropped).
    auto r0 = steg::shard_for_rank(pairs, 2, 2, 0), r1 = steg::shard_for_rank(pairs, 2, 2, 1);
    ASSERT_EQ(r0.size(), 4u);
    ASSERT_EQ(r1.size(), 4u);
    const int want0[] = { 0, 1, 4, 5 }, want1[] = { 2, 3, 6, 7 };
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(r0[size_t(i)].cover, want0[i]);
        EXPECT_EQ(r0[size_t(i)].slot, want0[i]);  // crops are seeded by the place in the epoch
        EXPECT_EQ(r1[size_t(i)].cover, want1[i]);
        EXPECT_EQ(r1[size_t(i)].slot, want1[i]);
    }
    // The crops of a shard are the crops the whole epoch cuts for those pairs.
    const steg::ImageSet set   = synthetic_set(8, 20);
    std::vector<steg::Pair> small = { { 0, 1 }, { 2, 3 }, { 4, 5 }, { 6, 7 } };
    const auto whole = steg::make_batch(set, set, small, 0, 4, 16, steg::PayloadMode::Gray, 3, 1);
    const auto part  = steg::make_batch(set, set, steg::shard_for_rank(small, 2, 2, 1), 0, 2, 16,
                                        steg::PayloadMode::Gray, 3, 1);
    EXPECT_TRUE(std::equal(part.covers.begin(), part.covers.end(), whole.covers.begin() + 2 * 3 * 16 * 16));
}

TEST(Distributed, TorchrunEnvironmentAndMasterOption) {
    auto o = steg::dist_options_from_env({ { "RANK", "3" }, { "WORLD_SIZE", "8" }, { "LOCAL_RANK", "1" },
                                           { "MASTER_ADDR", "node07" }, { "MASTER_PORT", "29400" },
                                           { "TORCHELASTIC_USE_AGENT_STORE", "True" },
                                           { "TORCHELASTIC_RESTART_COUNT", "2" }, { "GLOO_SOCKET_IFNAME", "ib0" } });
    EXPECT_EQ(o.rank, 3);
    EXPECT_EQ(o.world_size, 8);
    EXPECT_EQ(o.master_addr, "node07");
    EXPECT_EQ(o.master_port, 29400);
    EXPECT_TRUE(o.agent_store);
    EXPECT_EQ(o.restart, 2);
    EXPECT_EQ(o.interface, "ib0");
    const auto none = steg::dist_options_from_env({});
    EXPECT_EQ(none.world_size, 1);  // no environment: a single process
    EXPECT_THROW(steg::dist_options_from_env({ { "WORLD_SIZE", "two" } }), steg::Error);
    steg::DistOptions m;
    steg::parse_master("10.0.0.5:1234", m);
    EXPECT_EQ(m.master_addr, "10.0.0.5");
    EXPECT_EQ(m.master_port, 1234);
    EXPECT_THROW(steg::parse_master("10.0.0.5", m), steg::Error);
    EXPECT_THROW(steg::parse_master("host:99999", m), steg::Error);
}

TEST(Distributed, RanksJoinTorchrunsAgentStore) {
    // torchrun's static rendezvous serves a TCPStore itself and tells the workers so
    // (TORCHELASTIC_USE_AGENT_STORE=True): no rank may try to serve it again.
    TempDir d;
    write_data(d);
    const int             port = free_port();
    c10d::TCPStoreOptions so;
    so.port        = uint16_t(port);
    so.isServer    = true;
    so.waitWorkers = false;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    so.useLibUV = false;  // as steg-distributed.cpp: distributions' libtorch may lack libuv
#endif
    c10d::TCPStore agent("127.0.0.1", so);
    const std::string env = "GLOO_SOCKET_IFNAME=lo MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) +
                            " WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 TORCHELASTIC_USE_AGENT_STORE=True ";
    const std::string args = " " STEG_TRAINER " train --covers " + d.file("data") +
                             " --size 16 --batch 2 --epochs 2 --val-fraction 0.2 --dist-timeout 60 -o " + d.file("m.safetensors");
    // Rank 1 is told to write elsewhere: rank 0 alone validates and writes, so nothing
    // may appear there.
    std::string args1 = args;
    args1.replace(args1.rfind(d.file("m.safetensors")), d.file("m.safetensors").size(), d.file("r1/m.safetensors"));
    std::filesystem::create_directories(d.file("r1"));
    const pid_t r1 = spawn("env " + env + "RANK=1 LOCAL_RANK=1" + args1 + " 2>" + d.file("r1.err"));
    std::string err;
    EXPECT_EQ(run("env " + env + "RANK=0 LOCAL_RANK=0" + args, d, &err), 0) << err;
    EXPECT_EQ(wait_exit(r1), 0) << steg_test::read_file(d.file("r1.err"));
    EXPECT_NE(err.find("rank 0 of 2"), std::string::npos) << err;
    // Rank 0 wrote the model, one log line per epoch (not one per rank), and its summary
    // records the job's size.
    std::ifstream log(d.file("m.safetensors.log.jsonl"));
    int           lines = 0;
    for (std::string l; std::getline(log, l);) ++lines;
    EXPECT_EQ(lines, 2);
    EXPECT_NE(steg_test::read_file(d.file("r1.err")).find("rank 0 validates and writes"), std::string::npos);
    EXPECT_TRUE(std::filesystem::is_empty(d.file("r1")));  // no checkpoint, log or model from rank 1
    EXPECT_TRUE(std::filesystem::exists(d.file("m.safetensors.ckpt")));
    steg::Model m = steg::load_model(d.file("m.safetensors"));
    EXPECT_NE(m.metadata.at("training").find("\"world_size\":2"), std::string::npos) << m.metadata.at("training");
}

TEST(Distributed, ResumeRestoresEveryRank) {
    // Two ranks for 1 epoch, then resumed to 2, end as two ranks that ran 2 epochs.
    TempDir d;
    write_data(d);
    auto job = [&](const std::string & out, int epochs, bool resume) {
        const int         port = free_port();
        const std::string args = " --covers " + d.file("data") + " --size 16 --batch 2 --val-fraction 0 --threads 1"
                                 " --data-workers 0 --world-size 2 --master 127.0.0.1:" + std::to_string(port) +
                                 " --epochs " + std::to_string(epochs) + (resume ? " --resume" : "") + " -o " + out;
        const pid_t r1 = spawn("GLOO_SOCKET_IFNAME=lo " STEG_TRAINER " train --rank 1" + args + " 2>" + d.file("r1.err"));
        std::string err;
        EXPECT_EQ(run("GLOO_SOCKET_IFNAME=lo " STEG_TRAINER " train --rank 0" + args, d, &err), 0) << err;
        EXPECT_EQ(wait_exit(r1), 0) << steg_test::read_file(d.file("r1.err"));
    };
    job(d.file("a.safetensors"), 2, false);
    job(d.file("b.safetensors"), 1, false);
    job(d.file("b.safetensors"), 2, true);
    steg::Trainer a(steg_test::distributed_test_options(2)), b(steg_test::distributed_test_options(2));
    a.import_model(d.file("a.safetensors"));
    b.import_model(d.file("b.safetensors"));
    EXPECT_EQ(a.parameters_flat(), b.parameters_flat());
}

TEST(Distributed, ADeadRankMakesTheOtherFailWithinTheTimeout) {
    TempDir d;
    write_data(d);
    const int         port = free_port();
    const std::string args = " --covers " + d.file("data") + " --size 16 --batch 2 --epochs 100000 --val-fraction 0"
                             " --threads 1 --world-size 2 --dist-timeout 15 --master 127.0.0.1:" + std::to_string(port) +
                             " -o " + d.file("k.safetensors");
    const pid_t r0 = spawn("GLOO_SOCKET_IFNAME=lo exec " STEG_TRAINER " train --rank 0" + args + " 2>" + d.file("r0.err"));
    const pid_t r1 = spawn("GLOO_SOCKET_IFNAME=lo exec " STEG_TRAINER " train --rank 1" + args + " 2>" + d.file("r1.err"));
    // Wait until the job trains (rank 0 logged an epoch), then kill rank 1 outright.
    auto logged = [&] { return !steg_test::read_file(d.file("k.safetensors.log.jsonl")).empty(); };
    for (int i = 0; i < 600 && !logged(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(logged()) << steg_test::read_file(d.file("r0.err"));
    kill(r1, SIGKILL);
    wait_exit(r1);
    const auto start = std::chrono::steady_clock::now();
    const int  rc    = wait_exit(r0);
    const double s   = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_NE(rc, 0);
    EXPECT_LT(s, 15 + 10);  // the timeout and some slack, not forever
    const std::string err = steg_test::read_file(d.file("r0.err"));
    EXPECT_NE(err.find("another rank stopped"), std::string::npos) << err;
    EXPECT_TRUE(std::filesystem::exists(d.file("k.safetensors.ckpt")));  // the last checkpoint is kept
}
