"""A worker lets go of a request (acks it: it leaves its in-flight hash) only after the listing its
page gave is in the run's stream: killed between the two, the request would be lost. Read from the
commands a real redis-server executes, in order (MONITOR), during a crawl of a generated shop."""

from __future__ import annotations

import re
import threading

import pytest
import redis as redis_client
from distributed import finish, redis_server_or_skip, shop_table, start, start_workers

from serumscope.demo.generated import GeneratedShops

pytestmark = pytest.mark.slow
PRODUCT_URL = re.compile(r"http://127\.0\.0\.1:\d+/products/p\d+\.html")


def watch(url: str, commands: list[dict], ready: threading.Event) -> None:
    with redis_client.Redis.from_url(url).monitor() as monitor:
        ready.set()
        for command in monitor.listen():
            commands.append(command)
            if (
                command["command"].startswith("SET serumscope:run:")
                and "finished" in command["command"]
            ):
                return


def test_a_request_is_acked_only_after_its_listing_is_sent(tmp_path):
    redis = redis_server_or_skip(tmp_path)
    commands: list[dict] = []
    try:
        with GeneratedShops(60) as generated:
            sites = tmp_path / "sites.toml"
            entry = generated.sites_entry()
            sites.write_text(shop_table(entry))
            ready = threading.Event()
            watcher = threading.Thread(target=watch, args=(redis.url, commands, ready), daemon=True)
            watcher.start()
            ready.wait(10)
            crawl = start(
                "crawl", "--sites", str(sites), "--db", str(tmp_path / "dist.db"),
                "--redis", redis.url, log=tmp_path / "crawl.log",
            )  # fmt: skip
            (worker,) = start_workers(redis.url, tmp_path, 1)
            assert finish(crawl) == 0, (tmp_path / "crawl.log").read_text()[-2000:]
            assert finish(worker) == 0
            watcher.join(30)
    finally:
        redis.stop()
    taken: dict[str, str] = {}  # in-flight field (sha1 of the request) -> product URL
    acked: dict[str, int] = {}  # product URL -> when its request left the in-flight hash
    sent: dict[str, int] = {}  # product URL -> when its listing went into the stream
    for position, command in enumerate(commands):
        words = command["command"].split(" ")
        found = PRODUCT_URL.search(command["command"])
        if words[0] == "HSET" and ":inflight:" in words[1] and found:
            taken[words[2]] = found.group()
        elif words[0] == "HDEL" and ":inflight:" in words[1]:
            for field in words[2:]:  # an outbox batch acks all its requests done in one HDEL
                if field in taken:
                    acked.setdefault(taken[field], position)
        elif words[0] == "XADD" and "listing" in command["command"]:
            for url in PRODUCT_URL.findall(command["command"]):  # one entry per outbox batch
                sent.setdefault(url, position)
    assert len(sent) == 60 and len(acked) == 60
    early = sorted(url for url, position in acked.items() if position < sent[url])
    assert early == []
