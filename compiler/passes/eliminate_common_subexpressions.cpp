//===- compiler/passes/eliminate_common_subexpressions.cpp ---------------===//
//
// This file implements CSE by hash-consing: nodes are visited children first
// (id order is a topological order) and looked up by a key made of their own
// fields and their children's canonical ids.
//
//===----------------------------------------------------------------------===//
#include "compiler/passes/eliminate_common_subexpressions.h"

#include <cstring>
#include <map>
#include <unordered_map>

namespace tem::compiler {

namespace {

struct Key {
    std::vector<uint64_t> words;
    bool operator<(const Key& o) const { return words < o.words; }
};

Key key_of(const ir::Node& n, const std::vector<uint32_t>& child_ids) {
    Key k;
    uint64_t value_bits;
    std::memcpy(&value_bits, &n.value, sizeof value_bits);
    k.words = {static_cast<uint64_t>(n.op), static_cast<uint64_t>(n.type), n.axes, n.data ? 1u : 0u,
               static_cast<uint64_t>(n.bins), value_bits, n.literal ? 1u : 0u,
               static_cast<uint64_t>(static_cast<int64_t>(n.axis)), static_cast<uint64_t>(static_cast<int64_t>(n.array)),
               static_cast<uint64_t>(n.rop), n.reduce_axes, n.has_where ? 1u : 0u, n.has_by ? 1u : 0u};
    for (uint32_t id : child_ids) k.words.push_back(id);
    return k;
}

} // namespace

void eliminate_common_subexpressions(ir::Program& program) {
    std::vector<ir::NodeRef> roots;
    for (const ir::Output& o : program.outputs) roots.push_back(o.value);
    if (program.roi) roots.push_back(program.roi);
    std::unordered_map<const ir::Node*, ir::NodeRef> canonical;
    std::map<Key, ir::NodeRef> table;
    // topo_order returns raw pointers; find the owning NodeRefs on the way.
    std::unordered_map<const ir::Node*, ir::NodeRef> owner;
    std::vector<ir::NodeRef> stack(roots.begin(), roots.end());
    while (!stack.empty()) {
        ir::NodeRef n = stack.back();
        stack.pop_back();
        if (!owner.emplace(n.get(), n).second) continue;
        for (const ir::NodeRef& a : n->args) stack.push_back(a);
    }
    for (const ir::Node* n : ir::topo_order(roots)) {
        std::vector<ir::NodeRef> args;
        std::vector<uint32_t> ids;
        bool changed = false;
        for (const ir::NodeRef& a : n->args) {
            const ir::NodeRef& c = canonical.at(a.get());
            changed = changed || c.get() != a.get();
            args.push_back(c);
            ids.push_back(c->id);
        }
        Key k = key_of(*n, ids);
        auto it = table.find(k);
        if (it != table.end()) {
            canonical[n] = it->second;
            continue;
        }
        ir::NodeRef node = owner.at(n);
        if (changed) {
            ir::Node copy = *n;
            copy.args = std::move(args);
            copy.id = program.next_id++;
            node = std::make_shared<const ir::Node>(std::move(copy));
        }
        table.emplace(std::move(k), node);
        canonical[n] = node;
    }
    for (ir::Output& o : program.outputs) o.value = canonical.at(o.value.get());
    if (program.roi) program.roi = canonical.at(program.roi.get());
}

} // namespace tem::compiler
