"""Long runs: progress, the GIL released while the engine works, and
Ctrl-C stopping a run without writing anything."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pbrsim
from conftest import ROOT

WORK_PROGRAMME = ROOT / "scenarios" / "work_programme.toml"


def test_progress_reaches_the_total_in_order():
    seen = []
    pbrsim.run(WORK_PROGRAMME, iterations=1_000, progress=lambda done, total: seen.append((done, total)))
    assert seen, "the callback was never called"
    assert all(total == 1_000 for _, total in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == (1_000, 1_000)


def test_an_exception_in_the_callback_stops_the_run(tmp_path):
    class Stop(Exception):
        pass

    def callback(done, total):
        if done > 0:
            raise Stop()

    try:
        pbrsim.run(WORK_PROGRAMME, iterations=100_000, out=tmp_path / "o", progress=callback)
    except Stop:
        pass
    else:
        raise AssertionError("the callback's exception was swallowed")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_the_gil_is_released_while_the_engine_works():
    ticks = 0
    running = threading.Event()
    done = threading.Event()

    def count():
        nonlocal ticks
        running.set()
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    running.wait()
    before = ticks
    start = time.monotonic()
    pbrsim.run(WORK_PROGRAMME, iterations=1_500, threads=1, progress=False)
    elapsed = time.monotonic() - start
    done.set()
    t.join()
    # The other thread kept running: at least a tick per 10 ms of the run
    # (it could tick once per ms if the GIL were free all the time).
    assert ticks - before >= elapsed / 0.01, (ticks - before, elapsed)


def test_ctrl_c_stops_a_run_and_writes_nothing(tmp_path):
    out = tmp_path / "o"
    marker = tmp_path / "started"
    script = textwrap.dedent(
        f"""
        import pbrsim, signal, sys
        # As in a terminal: a child started in the background (CI) inherits
        # SIGINT ignored, and Python then does not turn it into
        # KeyboardInterrupt.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        def started(done, total):
            open({str(marker)!r}, "w").close()
        try:
            pbrsim.run({str(WORK_PROGRAMME)!r}, iterations=10_000_000, draws=True,
                       out={str(out)!r}, progress=started)
        except KeyboardInterrupt:
            print("interrupted")
            sys.exit(0)
        print("finished")
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the run never reported progress"
            time.sleep(0.05)
        time.sleep(0.5)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=30)
        stopped_in = time.monotonic() - sent
    finally:
        child.kill()
    assert child.returncode == 0, stderr
    assert stdout.strip() == "interrupted", (stdout, stderr)
    # A wave of blocks is well under a few seconds on any machine.
    assert stopped_in < 10, stopped_in
    left = sorted(os.listdir(out)) if out.exists() else []
    assert left == [], f"an interrupted run left {left}"


def test_an_interrupted_sweep_resumes_to_the_same_table(tmp_path):
    sweep = ROOT / "sweeps" / "work_programme_esa_charity.toml"
    out = tmp_path / "job"

    class Stop(Exception):
        pass

    def stop_midway(done, total):
        if done >= total // 3:
            raise Stop()

    try:
        pbrsim.sweep(sweep, iterations=2_048, out=out, progress=stop_midway)
    except Stop:
        pass
    else:
        raise AssertionError("the sweep was not interrupted")
    assert not (out / "sweep.csv").exists()
    kept = len(list((out / "state").iterdir()))
    assert kept > 0, "nothing was kept to resume from"
    resumed = pbrsim.sweep(sweep, iterations=2_048, out=out, progress=False)
    whole = pbrsim.sweep(sweep, iterations=2_048, progress=False)
    assert resumed.files["sweep.csv"] == whole.files["sweep.csv"]
