// Options of a runtime Node and of the processes and sends it hosts. Layer: runtime.
// The public API (include/herald) maps its own option structs onto these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/ids.h"
#include "core/time.h"
#include "proto/direct/direct_options.h"
#include "proto/group/group_options.h"
#include "proto/naming/naming_engine.h"
#include "proto/order/order_options.h"
#include "runtime/coord/etcd_options.h"
#include "runtime/node_rpc_options.h"
#include "runtime/transport.h"
#include "wire/fragment.h"

namespace herald::runtime {

struct NodeConfig {
    std::string listen_url = "udp://127.0.0.1:0";
    NodeId id;  // Unknown: derived from the bound listen URL, so a restart keeps the same id.
    // Fault injection spec (parse_fault_options). Empty: read $HERALD_FAULTS when
    // faults_from_env is true; no faults when both are empty.
    std::string faults;
    bool faults_from_env = true;
    TransportOptions transport;
    proto::direct::DirectOptions direct;
    wire::ReassemblerOptions reassembly;
    // stop() waits at most this long for pending sends to complete before closing them.
    Duration drain_max = Duration::milliseconds(500);
    // A blocking receive that finds nothing spins this long before it sleeps (DESIGN.md).
    Duration receive_spin = Duration::microseconds(20);
    // With a store (data_dir): how long the loop polls instead of sleeping after it hands a
    // write to the store writer and after each commit it takes (Loop::poll_until), and one
    // blocking mailbox caller at a time for its answer (NodeMailbox), so that the commit's
    // report and the caller's next command cost no thread wake-up. Zero: never polls.
    Duration durable_poll = Duration::microseconds(200);
    // Asynchronous commands queued to the loop thread at once; beyond it send_async fails with
    // Errc::queue_full (bounds memory when a program fires sends faster than the loop runs).
    std::uint32_t commands_max = 65536;
    std::uint32_t processes_max = 1u << 20;  // Live processes; spawn beyond: queue_full.
    std::size_t peers_max = 65536;           // Address book entries (PeerTable).
    // Folder of the node's durable store (<data_dir>/herald.db: the RPC reply cache when
    // rpc.engine.durable, and handlers' durable state). Empty: nothing is kept on disk.
    std::string data_dir;
    // Cluster key file (wire::read_key_file); empty: packets are not authenticated.
    std::string key_file;
    bool encrypt = false;  // LinkOptions::encrypt; needs key_file.
    RpcConfig rpc;         // RPC hosting (NodeRpc).
    // The name service (NodeNaming, docs/naming.md): every node is a client of
    // naming.server_node; naming.server hosts the table in the store (needs data_dir).
    proto::naming::NamingOptions naming;
    // Where the name server's node listens, when naming.server_node is not known yet: the
    // first naming call pings it to learn its id (the api layer does, NodeNaming::set_server).
    std::string naming_server_url;
    // The coordination backend of the name service (docs/coordination.md): names in the etcd
    // cluster of `etcd` instead of the naming engine's server (naming.server and
    // naming_server_url are then unused; naming's cache and list bounds still apply).
    bool coordination_etcd = false;
    coord::EtcdOptions etcd;
    // Groups (NodeGroupService, docs/groups.md): hosted when group_enabled; the node named by
    // group.server is the group server and keeps the groups in its store (needs data_dir).
    bool group_enabled = false;
    proto::group::GroupOptions group;
    // Where the group server's node listens, when group.server is not known (0): the first
    // group call pings it to learn its id (the api layer does, NodeGroupService::set_server).
    std::string group_server_url;
    // This node is the group server (group.server is set to its own id at start).
    bool group_server = false;
    // The ordering engine (NodeOrderService, docs/ordering.md): hosted with the group engine.
    proto::order::OrderOptions order;
};

struct ProcessConfig {
    proto::direct::ProcessOptions engine;
    // 0: a dynamic id (incarnation << 32 | counter, never reused across restarts). Otherwise a
    // well-known id in [1, 2^32) that keeps the same Pid across node restarts.
    std::uint64_t local_id = 0;
    std::string name;  // Empty: unnamed. Otherwise unique on the node (whereis).
};

struct SendConfig {
    proto::direct::SendMode mode = proto::direct::SendMode::accepted;
    proto::direct::OnFull on_full = proto::direct::OnFull::block;
    Duration timeout = Duration::max();  // From the call; the engine fails the op after it.
};

struct PingResult {
    NodeId node;
    std::uint32_t incarnation = 0;
    Duration rtt;
    Endpoint endpoint;
};

}  // namespace herald::runtime
