"""The example simulator in a cluster: central systems sharing NATS, worker processes, ``list``.

Simulators run as subprocesses driven through stdin (``tests/sim_driver.py``), on 127.0.0.1, with the
nats-server of the cluster extra (skipped without it).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from .cluster_support import nats_server_or_skip
from .sim_driver import Sim

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo_cluster.py"
LISTENING = r"cs: listening on ws://127\.0\.0\.1:(\d+)"
LIST_LINE = r"cs:\s+(CP\d+)\s+node=(\S+)\s+websocket\s+ocpp1\.6\s+since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ"


def listed(sim: Sim, count: int, timeout: float = 5.0) -> dict[str, str]:
    """Type ``list`` until it shows ``count`` charge points (presence reaches every node within milliseconds,
    not at once) and read that answer: charge point → node."""
    deadline = time.monotonic() + timeout
    while True:
        sim.send("list")
        shown = int(sim.expect(r"cs: (\d+) charge point\(s\) connected cluster-wide \(nodes: ", 5)[1])
        nodes: dict[str, str] = {}
        for _ in range(shown):
            match = sim.expect(LIST_LINE, 5)
            nodes[match[1]] = match[2]
        if shown == count or time.monotonic() > deadline:
            assert shown == count, nodes
            return nodes
        time.sleep(0.05)


def test_a_remote_action_typed_on_one_simulator_reaches_a_charge_point_connected_to_another(sims: list[Sim]) -> None:
    nats_server_or_skip()
    one = Sim("start_cs", "0", "--cluster", "--node", "cs-one")  # --cluster alone: an embedded nats-server
    sims.append(one)
    url = one.expect(r"embedded nats-server at (nats://127\.0\.0\.1:\d+) \(others join with --cluster \1\)", 20)[1]
    port_one = int(one.expect(LISTENING)[1])
    two = Sim("start_cs", "0", "--cluster", url, "--node", "cs-two")
    sims.append(two)
    two.expect(rf"cs: node cs-two joined the cluster at {re.escape(url)}", 20)
    two.expect(LISTENING)
    cp = Sim("start_cp", f"ws://127.0.0.1:{port_one}", "CP1")
    sims.append(cp)
    cp.expect(r"cp#CP1: connected to ", 10)

    assert listed(two, 1) == {"CP1": "cs-one"}
    assert any("connected cluster-wide (nodes: cs-one, cs-two)" in line for line in two.all)
    two.send('remote_reset --remote-id CP1 type="Hard"')
    # the frames go over the socket cs-one holds, and are printed there; the answer comes back to cs-two
    cp.expect(r'cp#CP1: <<cs \[2,"[\w-]+","Reset",\{"type":"Hard"\}\]', 10)
    one.expect(r'cs: >>cp#CP1 \[2,"[\w-]+","Reset",\{"type":"Hard"\}\]', 5)
    two.expect(r'cs: cp#CP1 \(node cs-one\): Reset \{"type":"Hard"\} sent through the cluster', 5)
    two.expect(r'cs: cp#CP1 \(node cs-one\): Reset answered \{"status":"Accepted"\}', 5)
    assert not [line for line in two.all if "cs: >>cp#" in line]  # nothing went over a socket of cs-two

    two.send('remote_send --remote-id CP1 ChangeAvailability {"connectorId": 0, "type": "Inoperative"}')
    cp.expect(r'cp#CP1: <<cs \[2,"[\w-]+","ChangeAvailability",\{"connectorId":0,"type":"Inoperative"\}\]', 10)
    two.expect(r"cs: cp#CP1 \(node cs-one\): ChangeAvailability answered \{\"status\":\"Accepted\"\}", 5)
    two.send('remote_send_raw --remote-id CP1 [2,"x","Reset",{}]')  # raw text cannot cross the cluster
    two.expect(r"error: charge point CP1 is connected to node cs-one: this command reaches only charge points", 5)
    two.send("remote_reset --remote-id NOBODY")
    two.expect(r"error: no charge point NOBODY connected", 5)

    cp.send("quit")  # a charge point gone leaves the list of every node
    assert cp.close() == 0
    one.expect(r"cs: charge point CP1 disconnected", 5)
    assert listed(two, 0) == {}


def test_start_cs_with_workers_serves_one_port_from_two_processes_and_the_console_reaches_both(
    sims: list[Sim],
) -> None:
    nats_server_or_skip()
    cs = Sim("start_cs", "0", "--workers", "2")
    sims.append(cs)
    match = cs.expect(
        r"cs: 2 workers listening on ws://127\.0\.0\.1:(\d+)/ \(nodes (\S+), (\S+)\), cluster nats://", 30
    )
    port, workers = int(match[1]), {match[2], match[3]}
    cp = Sim()
    sims.append(cp)
    count = 0
    nodes: dict[str, str] = {}
    while set(nodes.values()) != workers:  # connections to the one port land on both workers (the kernel picks)
        assert count < 40, f"40 charge points did not land on both workers: {nodes}"
        for _ in range(8):
            count += 1
            cp.send(f"start_cp ws://127.0.0.1:{port} CP{count}")
            cp.expect(rf"cp#CP{count}: connected to ", 10)
        nodes = listed(cs, count)
    for worker in sorted(workers):  # a remote action from the console reaches a charge point of each worker
        target = min((c for c, node in nodes.items() if node == worker), key=lambda c: int(c[2:]))
        cs.send(f"remote_getconfiguration --remote-id {target}")
        cp.expect(rf'cp#{target}: <<cs \[2,"[\w-]+","GetConfiguration",\{{\}}\]', 10)
        cs.expect(
            rf"cs: cp#{target} \(node {re.escape(worker)}\): GetConfiguration answered \{{\"configurationKey\"", 5
        )
    cs.send("quit")
    assert cs.close() == 0


def test_the_cluster_demo_resets_a_charge_point_of_one_simulator_from_the_other_and_says_ok() -> None:
    nats_server_or_skip()
    result = subprocess.run([sys.executable, str(DEMO)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("demo: OK")
    assert any(
        re.search(r'^ +cs-one \| .* cs: >>cp#CP1 \[2,"[\w-]+","Reset",\{"type":"Soft"\}\]', line) for line in lines
    )
    assert any(re.search(r'^ +cs-two \| .* Reset answered \{"status":"Accepted"\}', line) for line in lines)
    assert any(re.search(r"^ +cs-two \| .* CP1\s+node=cs-one\s+websocket", line) for line in lines)
