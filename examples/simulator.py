"""An OCPP charge point / central system simulator with the command line of the classic ocppjs simulator.

    python examples/simulator.py start_cs 9000
    python examples/simulator.py start_cp ws://127.0.0.1:9000 CP1              # OCPP 1.6
    python examples/simulator.py start_cp ws://127.0.0.1:9000 CP2 -p ocpp2.0.1    # or 2.0.1, 2.1

then type commands (``help`` lists them): ``bootnotification``, ``heartbeat``, ``starttransaction``,
``metervalues``, ``transactionevent`` (2.x), ``remote_reset type="Hard"`` ... Several ``start_cs`` /
``start_cp`` commands may be given on the command line. Without a terminal on stdin it serves until stdin
closes or it is signalled.

It listens on 127.0.0.1 only unless ``--host`` says otherwise, and a central system demands HTTP Basic
credentials when started with ``--user NAME --password SECRET`` or ``--credentials FILE``:

    python examples/simulator.py start_cs 9000 --host 0.0.0.0 --credentials cps.txt
    python examples/simulator.py start_cp ws://127.0.0.1:9000 CP1 --password SECRET

Central systems in a cluster (the ``cluster`` extra): ``--cluster`` alone starts an embedded nats-server
and prints its URL, ``--cluster URL`` joins one, ``--workers N`` serves the port with N processes; then
``remote_reset --remote-id CP1`` reaches CP1 on whichever of them holds it, and ``list`` shows them all:

    python examples/simulator.py start_cs 9000 --cluster nats://127.0.0.1:4222
    python examples/simulator.py start_cs 9001 --cluster nats://127.0.0.1:4222 --workers 2
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sim.app import Simulator, configure_logging

START_WORDS = ("start_cs", "start_cp")


def command_lines(argv: list[str]) -> list[str]:
    """``start_cs 9000 start_cp ws://h:9000 CP1`` → ``["start_cs 9000", "start_cp ws://h:9000 CP1"]``."""
    lines: list[list[str]] = []
    for word in argv:
        if word in START_WORDS or not lines:
            lines.append([word])
        else:
            lines[-1].append(word)
    return [" ".join(words) for words in lines]


def _read_stdin(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    """Blocking reads in a daemon thread, so a pending read never keeps the process alive."""
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line)
    loop.call_soon_threadsafe(queue.put_nowait, None)


async def main(argv: list[str]) -> int:
    configure_logging(sys.stdout)
    simulator = Simulator(sys.stdout)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        for line in command_lines(argv):
            await simulator.execute(line)
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(target=_read_stdin, args=(loop, lines), daemon=True).start()
        stopped = asyncio.create_task(stop.wait())
        while not stop.is_set():
            next_line = asyncio.create_task(lines.get())
            await asyncio.wait({next_line, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not next_line.done():
                next_line.cancel()
                break
            entered = next_line.result()
            if entered is None or not await simulator.execute(entered):
                break
    finally:
        await simulator.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
