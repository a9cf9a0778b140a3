"""`ganlab` commands run in processes forked from one that has already imported torch and ganlab.

Every `ganlab train` otherwise spends ~4 s importing torch, torch._dynamo (the optimizers import
it) and Hydra before its first step, and the e2e tests start a few hundred of them. A forked child
is still a process of its own running `ganlab.cli.main()` as the console script does: same argv,
cwd, environment, stdout/stderr, exit code, atexit handlers and uncaught-traceback behaviour. What
it cannot show is behaviour at import time; the tests that start the console script itself (bad
input, console, kill -9, preemption, DDP) cover that. GANLAB_TESTS_EXEC=1 runs every command
through the console script instead.

Protocol (one JSON object per line): the test sends {"argv", "cwd", "env", "stdout", "stderr"};
the server forks, answers {"pid"} at once and {"rc"} when the child has exited.
"""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# imported once here, inherited by every child (the console script's own imports, and the heavy
# ones a training run makes later)
PRELOAD = ["torch", "torch._dynamo", "torchvision", "hydra", "omegaconf", "ganlab.cli", "ganlab.commands.train",
           "ganlab.training.loop", "ganlab.training.build", "ganlab.algorithms.gan", "ganlab.models.dcgan"]


class ForkServer:
    """One server per test process, started on first use; `run` mirrors subprocess.run."""

    def __init__(self, executable: str, env: dict[str, str]):
        self.executable, self.lock, self.proc = executable, threading.Lock(), None
        self.tmp = Path(tempfile.mkdtemp(prefix="ganlab-forks-"))
        self.env = env

    def _start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=self.env)
        self.pending = b""  # answers read from the pipe but not yet returned

    def _answer(self, timeout: float | None) -> dict | None:
        """The next answer, or None after `timeout` s. Reads the pipe itself (no file buffer that
        could hold the next answer while select() waits on the empty pipe)."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.pending:
            if not select.select([fd], [], [], timeout)[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(f"the ganlab fork server exited ({self.proc.wait()})")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)

    def run(self, args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self._start()
            out, err = self.tmp / "stdout", self.tmp / "stderr"
            request = {"argv": [self.executable, *args], "cwd": str(cwd), "env": env,
                       "stdout": str(out), "stderr": str(err)}
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
            pid = self._answer(None)["pid"]
            done = self._answer(timeout)
            if done is None:
                os.kill(pid, signal.SIGKILL)  # not yet reaped: the server waits on it
                self._answer(None)
                raise subprocess.TimeoutExpired([self.executable, *args], timeout,
                                                out.read_text(errors="replace"), err.read_text(errors="replace"))
            return subprocess.CompletedProcess([self.executable, *args], done["rc"],
                                               out.read_text(errors="replace"), err.read_text(errors="replace"))

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        shutil.rmtree(self.tmp, ignore_errors=True)


def _serve() -> dict:
    """The server's loop; returns only in a forked child, with the request it must run."""
    import importlib
    for name in PRELOAD:
        importlib.import_module(name)
    requests = os.fdopen(os.dup(0), "r")
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # a stray print must not break the protocol
    for line in requests:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            requests.close()
            answers.close()
            return request
        answers.write(json.dumps({"pid": pid}) + "\n")
        _, status = os.waitpid(pid, 0)
        answers.write(json.dumps({"rc": os.waitstatus_to_exitcode(status)}) + "\n")
    sys.exit(0)


def _become(request: dict) -> None:
    """Turn the forked child into the process `subprocess.run(argv, cwd, env)` would have started."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path, flags in ((0, os.devnull, os.O_RDONLY),
                            (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                            (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
        opened = os.open(path, flags, 0o644)
        os.dup2(opened, fd)
        os.close(opened)
    sys.argv = request["argv"]
    # sys.path as the console script's interpreter starts with it: the script's folder, then PYTHONPATH
    # (not this file's folder: tests/ must not be importable by the command)
    extra = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:1] = [os.path.dirname(request["argv"][0]), *extra]


if __name__ == "__main__":
    _become(_serve())
    from ganlab.cli import main
    sys.exit(main())
