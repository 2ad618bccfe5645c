"""Loading every default model opens no socket to anything but loopback."""

import json
import subprocess
import sys
import textwrap

import pytest

GUARD = textwrap.dedent('''
    import json, socket, sys
    attempts = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def _loopback(address):
        host = address[0] if isinstance(address, tuple) else address
        return isinstance(host, str) and (host in ("localhost", "::1") or host.startswith("127.") or host.startswith("/"))

    def guarded_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
            attempts.append(repr(address))
            raise OSError("network disabled by test")
        return real_connect(self, address)

    def guarded_connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
            attempts.append(repr(address))
            return 111
        return real_connect_ex(self, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host and not _loopback((host,)):
            attempts.append("dns:" + str(host))
            raise socket.gaierror("network disabled by test")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = guarded_connect
    socket.socket.connect_ex = guarded_connect_ex
    socket.getaddrinfo = guarded_getaddrinfo

    if "--control" in sys.argv:  # prove the guard sees an attempt (nothing leaves: it is refused before any packet)
        import urllib.request
        try:
            urllib.request.urlopen("http://example.invalid/", timeout=1)
        except Exception:
            pass
        print(json.dumps({"attempts": attempts, "loaded": []}))
        sys.exit(0)
    from modelbay.core.loading import load_task
    from modelbay.core.registry import all_tasks
    loaded = []
    for cls in all_tasks():
        task = load_task(cls.name)
        task([cls.coerce(cls.examples()[0])])
        loaded.append(cls.name)
    print(json.dumps({"attempts": attempts, "loaded": loaded}))
''')


def _run_guarded(*args):
    import os

    env = {"MODELBAY_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    env.update({k: v for k, v in os.environ.items() if k.startswith(("HOME", "MODELBAY_", "XDG_", "OPENBLAS"))})
    result = subprocess.run([sys.executable, "-c", GUARD, *args], capture_output=True, text=True, env=env, timeout=900,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_guard_notices_a_network_attempt():
    assert _run_guarded("--control")["attempts"] == ["dns:example.invalid"]


@pytest.mark.slow
def test_loading_and_running_every_default_model_stays_off_the_network():
    report = _run_guarded()
    from modelbay.core.registry import task_names

    assert sorted(report["loaded"]) == task_names()
    assert report["attempts"] == []
