"""Several processes training one model: who belongs to the cluster, and a handshake that
fails in one line before either engine joins.

The engines find each other through their own settings, read from the environment:

* TensorFlow (`MultiWorkerMirroredStrategy`): `TF_CONFIG`, e.g.
  `{"cluster": {"worker": ["10.0.0.1:23456", "10.0.0.2:23456"]}, "task": {"type": "worker", "index": 0}}`;
* JAX (`jax.distributed`): `KERAS_DISTRIBUTION_JOB_ADDRESSES` (the coordinator's host:port,
  or every process's, the first being the coordinator), `KERAS_DISTRIBUTION_NUM_PROCESSES`
  and `KERAS_DISTRIBUTION_PROCESS_ID`.

Worker 0 (process 0) is the chief. Before the engine starts, every process meets the chief
on the chief's address, so that a wrong address, a port in use or a worker that never
arrives ends with a `ClusterError` naming the setting to check, after `timeout` seconds,
instead of an engine abort or a hang. Once all have arrived, the chief frees the port for
the engine.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import time
from dataclasses import dataclass

from attention_xai.errors import AttentionXaiError, ConfigError

DEFAULT_TIMEOUT = 300.0
_HELLO = b"attention_xai"


class ClusterError(AttentionXaiError):
    """The processes of a multi-worker run could not find each other."""


@dataclass(frozen=True)
class Cluster:
    """One process's view of a multi-worker run.

    Attributes:
        engine: "tensorflow" or "jax".
        chief_address: host:port where the processes meet (worker 0's, or the JAX coordinator).
        own_address: host:port this process's engine serves on (TensorFlow workers), or None.
        size: number of processes.
        index: this process's number; 0 is the chief.
        setting: the environment variable(s) a user should check when the cluster fails.
    """

    engine: str
    chief_address: str
    own_address: str | None
    size: int
    index: int
    setting: str

    @property
    def chief(self) -> bool:
        return self.index == 0


def free_loopback_ports(count: int) -> list[int]:
    """`count` TCP ports free on 127.0.0.1 just now (the system picks them), for a cluster on
    one machine: the tests' and benchmarks'."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def loopback_settings(engine: str, ports: list[int], index: int) -> dict[str, str]:
    """The environment of process `index` in a cluster of len(ports) processes on 127.0.0.1
    (the tests' and benchmarks' cluster; empty for one process)."""
    if len(ports) < 2:
        return {}
    if engine == "tensorflow":
        workers = [f"127.0.0.1:{port}" for port in ports]
        return {"TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})}
    return {"KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{ports[0]}",
            "KERAS_DISTRIBUTION_NUM_PROCESSES": str(len(ports)), "KERAS_DISTRIBUTION_PROCESS_ID": str(index)}


def _host_port(address: str, setting: str) -> tuple[str, int]:
    host, colon, port = str(address).strip().rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{setting}: {address!r} is not host:port")
    return host.strip("[]"), int(port)


def cluster_from_environment(engine: str, environ=None) -> Cluster | None:
    """The multi-worker run the environment describes for `engine`, or None for one process.

    Raises:
        ConfigError: a setting that cannot be read (naming it).
    """
    environ = os.environ if environ is None else environ
    if engine == "tensorflow":
        text = environ.get("TF_CONFIG")
        if not text:
            return None
        try:
            config = json.loads(text)
            workers = list(config["cluster"].get("chief", [])) + list(config["cluster"]["worker"])
            task = config["task"]
            index = int(task["index"]) + (len(config["cluster"].get("chief", [])) if task["type"] == "worker" else 0)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ConfigError('TF_CONFIG must be JSON like {"cluster": {"worker": ["host:port", ...]}, '
                              '"task": {"type": "worker", "index": 0}}') from None
        if task["type"] not in ("worker", "chief"):
            raise ConfigError(f"TF_CONFIG: task type {task['type']!r} is not trained here; use worker (or chief)")
        if not 0 <= index < len(workers):
            raise ConfigError(f"TF_CONFIG: task index {task['index']} is outside the {len(workers)} workers listed")
        for address in workers:
            _host_port(address, "TF_CONFIG")
        if len(workers) < 2:
            return None
        return Cluster("tensorflow", workers[0], workers[index], len(workers), index, "TF_CONFIG")
    if engine == "jax":
        count = environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES")
        if count is None or count.strip() in ("", "1"):
            return None
        addresses = environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES", "")
        process = environ.get("KERAS_DISTRIBUTION_PROCESS_ID", "")
        if not count.strip().isdigit() or not process.strip().isdigit():
            raise ConfigError("KERAS_DISTRIBUTION_NUM_PROCESSES and KERAS_DISTRIBUTION_PROCESS_ID must be "
                              f"whole numbers, got {count!r} and {process!r}")
        size, index = int(count), int(process)
        listed = [a.strip() for a in addresses.split(",") if a.strip()]
        if not listed:
            raise ConfigError("KERAS_DISTRIBUTION_JOB_ADDRESSES must name the coordinator's host:port")
        if len(listed) > 1 and len(listed) != size:
            raise ConfigError(f"KERAS_DISTRIBUTION_JOB_ADDRESSES lists {len(listed)} processes but "
                              f"KERAS_DISTRIBUTION_NUM_PROCESSES is {size}")
        if not 0 <= index < size:
            raise ConfigError(f"KERAS_DISTRIBUTION_PROCESS_ID {index} is outside 0..{size - 1}")
        _host_port(listed[0], "KERAS_DISTRIBUTION_JOB_ADDRESSES")
        return Cluster("jax", listed[0], None, size, index,
                       "KERAS_DISTRIBUTION_JOB_ADDRESSES / _NUM_PROCESSES / _PROCESS_ID")
    return None


def _check_free(host: str, port: int, cluster: Cluster) -> None:
    """ClusterError when this machine cannot serve on host:port (in use, or not its address)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise _bind_error(exc, host, port, cluster) from None


def _bind_error(exc: OSError, host: str, port: int, cluster: Cluster) -> ClusterError:
    if exc.errno == errno.EADDRINUSE:
        return ClusterError(f"worker {cluster.index}: port {port} on {host} is in use by another program; "
                            f"choose a free port in {cluster.setting}")
    return ClusterError(f"worker {cluster.index}: cannot serve on {host}:{port} ({exc.strerror or exc}); "
                        f"is it this machine's address? check {cluster.setting}")


def rendezvous(cluster: Cluster, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Every process of `cluster` meets the chief within `timeout` seconds, or ClusterError.

    The chief listens on its address, waits for the other `size - 1` processes, then tells
    them to go and frees the port; the others connect (retrying until the deadline), say
    who they are, and wait for the word.
    """
    if timeout <= 0:
        raise ConfigError(f"the cluster timeout must be > 0 seconds, got {timeout}")
    host, port = _host_port(cluster.chief_address, cluster.setting)
    deadline = time.monotonic() + timeout
    if cluster.chief:
        _meet_as_chief(cluster, host, port, deadline, timeout)
        return
    if cluster.own_address:
        _check_free(*_host_port(cluster.own_address, cluster.setting), cluster)
    _meet_as_worker(cluster, host, port, deadline, timeout)


def _meet_as_chief(cluster: Cluster, host: str, port: int, deadline: float, timeout: float) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind((host, port))
        except OSError as exc:
            raise _bind_error(exc, host, port, cluster) from None
        server.listen(cluster.size)
        arrived: dict[int, socket.socket] = {}
        try:
            while len(arrived) < cluster.size - 1:
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = sorted(set(range(1, cluster.size)) - set(arrived))
                    raise ClusterError(f"worker 0: {len(arrived)} of the {cluster.size - 1} other workers reached "
                                       f"{host}:{port} within {timeout:g} s (missing: {', '.join(map(str, missing))}); "
                                       f"start every worker, and check {cluster.setting}")
                server.settimeout(left)
                try:
                    peer, _ = server.accept()
                except socket.timeout:
                    continue
                peer.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    words = peer.recv(64).split()
                except OSError:
                    peer.close()
                    continue
                if len(words) != 3 or words[0] != _HELLO or not words[1].isdigit() or not words[2].isdigit():
                    peer.close()  # not one of ours (a port scan, another program)
                    continue
                index, size = int(words[1]), int(words[2])
                if size != cluster.size or not 0 < index < cluster.size or index in arrived:
                    peer.sendall(b"refused\n")
                    peer.close()
                    twice = f" and {index} already came" if index in arrived else ""
                    raise ClusterError(f"worker 0: a worker announced itself as {index} of {size}, but this cluster "
                                       f"has {cluster.size} workers{twice}; check {cluster.setting} on every worker")
                arrived[index] = peer
            for peer in arrived.values():
                peer.sendall(b"go\n")
            for peer in arrived.values():  # the workers hang up first: the port is free at once
                peer.settimeout(5)
                try:
                    peer.recv(8)
                except OSError:
                    pass
        finally:
            for peer in arrived.values():
                peer.close()


def _meet_as_worker(cluster: Cluster, host: str, port: int, deadline: float, timeout: float) -> None:
    last = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ClusterError(f"worker {cluster.index}: could not reach worker 0 at {host}:{port} "
                               f"within {timeout:g} s ({last or 'no answer'}); check {cluster.setting} "
                               f"(worker 0's address and port) and that worker 0 is running")
        try:
            with socket.create_connection((host, port), timeout=min(left, 5.0)) as link:
                link.sendall(b"%s %d %d\n" % (_HELLO, cluster.index, cluster.size))
                link.settimeout(max(0.1, deadline - time.monotonic()))
                answer = link.recv(16)
            if answer.startswith(b"go"):
                return
            if answer.startswith(b"refused"):
                raise ClusterError(f"worker {cluster.index}: worker 0 refused this worker's index or count; "
                                   f"check {cluster.setting} on every worker")
            last = "the connection closed before the others arrived"
        except socket.timeout:
            last = "timed out"
        except OSError as exc:
            last = exc.strerror or str(exc)
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
