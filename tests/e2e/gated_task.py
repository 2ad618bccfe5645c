"""A task whose forward pass waits for the test's go-ahead: a gate inside a real server process.

``spawned_server(..., plugins=("gated_task",))`` imports this module into the server before it
starts, and the import registers the task ``gated-echo`` (the registry takes tasks from anywhere,
as it takes plugins) -- so never import it into the test process itself, whose registry every
other test reads. Its model is a spec the test writes into a catalog folder named by
``MODELBAY_CATALOG_PATH`` (``GATED_SPEC`` in test_serve_subprocess.py). Each forward pass connects to the test's socket at
``MODELBAY_TEST_GATE`` (``host:port``), sends ``started``, and answers only once the test sends a
byte back: so the test knows a request is inside the model, and decides when it leaves.
"""

from __future__ import annotations

import os
import socket

from modelbay.core.registry import register
from modelbay.core.task import Task, TaskInput, TaskOutput


class GateInput(TaskInput):
    text: str


class GateOutput(TaskOutput):
    text: str


@register
class GatedEcho(Task[GateInput, GateOutput]):
    name = "gated-echo"
    description = "Echoes its input once the test lets it (tests only)"
    Input = GateInput
    Output = GateOutput
    default_model = "gated-echo"
    example_inputs = ("one", "two")

    def _forward(self, batch: list[GateInput]) -> list[GateOutput]:
        host, port = os.environ["MODELBAY_TEST_GATE"].rsplit(":", 1)
        with socket.create_connection((host, int(port))) as conn:
            conn.sendall(b"started")
            conn.recv(1)  # blocks until the test says go (or closes the socket)
        return [GateOutput(text=item.text) for item in batch]
