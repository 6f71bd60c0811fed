"""The steps of bench/rollback.sh that talk to the mesh: one trial of a
scenario (config API, backend /__control and /__stats), the analysis of a
trial's load (bench/load.py output) and the final table. Run by
bench/rollback.sh, which owns every process; this file starts none.

    rollback_steps.py trial SCENARIO --api-port P --v1-port P --v2-port P
                      [--baseline S] [--v2-pid PID] [--healthy-seconds S]
        One trial while bench/load.py runs; prints one JSON object.
        SCENARIO: fail500 slow errors shrink dies healthy.
    rollback_steps.py analyze TRIAL-JSON LOAD-FILE LOAD-LOG
        Adds what the clients saw; prints one JSON object.
    rollback_steps.py table RESULTS-JSONL
        The markdown table of every scenario (then PROBLEM lines).
    rollback_steps.py details RESULTS-JSONL
        One markdown line per trial.
Exit status 1 with a message when a step cannot be done.
"""
import argparse
import http.client
import json
import os
import signal
import statistics
import sys
import time

ROLLBACK_TIMEOUT_S = 15.0
TIMELINE_TIMEOUT_S = 12.0  # the router finishes a timeline within 10 s
POLL_S = 0.05


def fail(message):
    print("rollback_steps: " + message, file=sys.stderr)
    sys.exit(1)


def wall_ms():
    return time.time() * 1000.0


def request(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    except OSError as error:
        fail("%s 127.0.0.1:%d%s: %s" % (method, port, path, error))
    finally:
        conn.close()


def control(port, query):
    status, body = request(port, "PUT", "/__control?" + query)
    if status != 200:
        fail("PUT /__control?%s on port %d gave %d: %s" % (query, port, status, body.strip()))


def backend_stats(port):
    status, body = request(port, "GET", "/__stats")
    if status != 200:
        fail("GET /__stats on port %d gave %d" % (port, status))
    return json.loads(body)


class Api:
    def __init__(self, port):
        self.port = port

    def put_v2(self, v2_port, transition):
        body = json.dumps({"cluster": {"version": 2, "servers": [{"ip": "127.0.0.1", "port": v2_port}],
                                       "upgradeTransition": transition}})
        status, text = request(self.port, "PUT", "/configuration/cluster", body)
        if status != 202:
            fail("PUT of v2 gave %d: %s" % (status, text.strip()))
        return text.strip()

    def state(self, uuid):
        status, text = request(self.port, "GET", "/configuration/cluster/" + uuid)
        if status != 200:
            fail("GET cluster %s gave %d: %s" % (uuid, status, text.strip()))
        return json.loads(text)["state"]

    def delete(self, uuid):
        status, text = request(self.port, "DELETE", "/configuration/cluster/" + uuid)
        if status != 202:
            fail("DELETE of %s gave %d: %s" % (uuid, status, text.strip()))

    def clusters(self):
        status, text = request(self.port, "GET", "/configuration/cluster")
        if status != 200:
            fail("GET /configuration/cluster gave %d" % status)
        return json.loads(text)

    def wait_rolled_back(self, uuid, timeout_s):
        """The state once health is rolledBack, or the last state seen at the timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.state(uuid)
            if state.get("health") == "rolledBack" or time.monotonic() >= deadline:
                return state
            time.sleep(POLL_S)

    def wait_timeline(self, uuid, timeout_s):
        """The rollback record once its timeline is finished (every worker confirmed, or timed out)."""
        deadline = time.monotonic() + timeout_s
        while True:
            record = self.state(uuid).get("rollback", {})
            timeline = record.get("timeline", {})
            if "allWorkersAppliedAtMs" in timeline or "workersNotConfirmed" in timeline or \
                    time.monotonic() >= deadline:
                return record
            time.sleep(POLL_S)


def difference(later, earlier):
    if later is None or earlier is None or not later or not earlier:
        return None
    return round(later - earlier, 1)


# ---------------------------------------------------------------------------
# trial

def trial(args):
    api = Api(args.api_port)
    scenario = args.scenario
    if len(api.clusters()) != 1:
        fail("expected only v1 in the table before a trial, found %d clusters" % len(api.clusters()))
    out = {"scenario": scenario}
    if scenario != "dies":
        control(args.v2_port, "reset=1")
        setup = {"slow": "delay=100", "errors": "errorPercent=10", "shrink": "size=200"}.get(scenario)
        if setup:
            control(args.v2_port, setup)
    time.sleep(args.baseline)  # v1 alone under load: its baseline

    if scenario == "dies":
        transition = {"mode": "GRADUAL", "percentageTransitionPerRequest": 0.05}
    else:
        transition = {"mode": "INSTANT"}
    put_ms = wall_ms()
    uuid = api.put_v2(args.v2_port, transition)
    out["uuid"] = uuid
    out["putMs"] = put_ms
    out["putAnsweredMs"] = wall_ms()
    origin = put_ms

    if scenario == "fail500":
        # ~1 s of healthy traffic, and a healthy verdict, before it breaks.
        time.sleep(1.0)
        deadline = time.monotonic() + 3.0
        health = api.state(uuid).get("health")
        while health != "healthy" and time.monotonic() < deadline:
            time.sleep(POLL_S)
            health = api.state(uuid).get("health")
        out["healthBeforeFault"] = health
        # errorPercent=100 rather than status=500: the same 500s, and the backend then
        # stamps firstInjectedErrorAtMs (a status= default is not an "injected error").
        out["faultMs"] = wall_ms()
        control(args.v2_port, "errorPercent=100")
    elif scenario == "dies":
        deadline = time.monotonic() + 60.0
        share = 0.0
        while True:
            state = api.state(uuid)
            share = state.get("gradualShare", 0.0)
            if share > 20.0:
                break
            if state.get("health") == "rolledBack":
                fail("v2 was rolled back during the ramp before it was killed: %s" % json.dumps(state))
            if time.monotonic() >= deadline:
                fail("gradualShare still %.2f %% after 60 s (health %s, rampHeld %s)"
                     % (share, state.get("health"), state.get("rampHeld")))
            time.sleep(0.02)
        out["shareAtKill"] = share
        out["healthAtKill"] = state.get("health")
        origin = out["faultMs"] = wall_ms()
        os.kill(args.v2_pid, signal.SIGKILL)

    if scenario == "healthy":
        return healthy(api, uuid, args, out)

    state = api.wait_rolled_back(uuid, ROLLBACK_TIMEOUT_S)
    out["health"] = state.get("health")
    out["rolledBack"] = state.get("health") == "rolledBack"
    if out["rolledBack"]:
        record = api.wait_timeline(uuid, TIMELINE_TIMEOUT_S)
        timeline = record.get("timeline", {})
        out["reason"] = record.get("reason")
        out["detail"] = record.get("detail")
        out["window"] = record.get("window")
        out["timeline"] = timeline
        first_failure = timeline.get("firstFailureAtMs")
        decided = timeline.get("decidedAtMs")
        applied = timeline.get("allWorkersAppliedAtMs")
        out["notConfirmed"] = timeline.get("workersNotConfirmed", [])
        if scenario == "fail500":
            out["decisionMs"] = difference(decided, first_failure)
            out["appliedMs"] = difference(applied, first_failure)
        else:
            out["decisionMs"] = difference(decided, origin)
            out["appliedMs"] = difference(applied, origin)
        out["routerFailureToDecisionMs"] = difference(decided, first_failure)
        out["appliedAtMs"] = applied
        out["decidedAtMs"] = decided
    else:
        out["detail"] = state.get("healthDetail")
        out["window"] = state.get("window")
    time.sleep(1.0)  # anything still routed to v2 arrives meanwhile
    if scenario != "dies":
        stats = backend_stats(args.v2_port)
        out["v2Stats"] = stats
        if scenario == "fail500":
            first_error = stats.get("firstInjectedErrorAtMs") or None
            out["firstInjectedErrorAtMs"] = first_error
            out["noTrafficMs"] = difference(stats.get("lastRequestAtMs"), first_error)
            if out.get("decidedAtMs") and first_error:
                out["backendErrorToDecisionMs"] = difference(out["decidedAtMs"], first_error)
                out["backendErrorToAppliedMs"] = difference(out.get("appliedAtMs"), first_error)
        else:
            out["noTrafficMs"] = difference(stats.get("lastRequestAtMs"), origin)
    api.delete(uuid)
    if scenario != "dies":
        control(args.v2_port, "reset=1")
    print(json.dumps(out))


def healthy(api, uuid, args, out):
    """Watches a healthy v2 for --healthy-seconds; counts verdicts."""
    started = time.monotonic()
    verdicts = {}
    state = {}
    last_health = None
    changes = []
    while time.monotonic() - started < args.healthy_seconds:
        time.sleep(1.0)
        state = api.state(uuid)
        health = state.get("health")
        verdicts[health] = verdicts.get(health, 0) + 1
        if health != last_health:
            changes.append([round(time.monotonic() - started, 1), health, state.get("healthDetail")])
            last_health = health
        if health == "rolledBack":
            break
    out["verdictSeconds"] = verdicts
    out["healthChanges"] = changes
    out["health"] = state.get("health")
    out["healthDetail"] = state.get("healthDetail")
    out["window"] = state.get("window")
    out["rolledBack"] = state.get("health") == "rolledBack"
    if out["rolledBack"]:
        record = state.get("rollback", {})
        out["reason"] = record.get("reason")
        out["detail"] = record.get("detail")
        out["window"] = record.get("window")
        out["decisionMs"] = difference(record.get("timeline", {}).get("decidedAtMs"), out["putMs"])
    out["watchedSeconds"] = round(time.monotonic() - started, 1)
    api.delete(uuid)
    print(json.dumps(out))


# ---------------------------------------------------------------------------
# analyze

def analyze(trial_file, load_file, load_log):
    with open(trial_file) as f:
        result = json.load(f)
    if not os.path.exists(load_file):
        fail("the load generator left no output (%s); its log: %s" % (load_file, open(load_log).read()[-2000:]))
    summary = None
    with open(load_log) as f:
        for line in f:
            if line.startswith("{"):
                summary = json.loads(line)
    if summary is None:
        fail("the load generator printed no summary; its log: %s" % open(load_log).read()[-2000:])
    client_5xx = no_answer = v2_answers = stale_v2 = 0
    after_fault = 0
    errors_sample = []
    applied = result.get("appliedAtMs")
    fault = result.get("faultMs")
    with open(load_file) as f:
        for line in f:
            sent_ms, recv_ms, status, version, worker, error = line.split()
            sent_ms, status = float(sent_ms), int(status)
            if status >= 500:
                client_5xx += 1
            elif status == 0:
                no_answer += 1
            if (status >= 500 or status == 0) and len(errors_sample) < 5:
                errors_sample.append(line.strip())
            if version == "v2":
                v2_answers += 1
                # An answer from v2 to a request sent after every worker applied the rollback.
                if applied and sent_ms > applied:
                    stale_v2 += 1
            if fault and sent_ms >= fault:
                after_fault += 1
    result["load"] = summary
    result["client5xx"] = client_5xx
    result["clientNoAnswer"] = no_answer
    result["clientErrorSamples"] = errors_sample
    result["v2Answers"] = v2_answers
    result["staleV2Answers"] = stale_v2
    result["requestsAfterFault"] = after_fault
    print(json.dumps(result))


# ---------------------------------------------------------------------------
# table

SCENARIOS = [
    ("fail500", "1. INSTANT v2 starts answering 500"),
    ("slow", "2. v2 20x slower (100 ms vs 5 ms)"),
    ("errors", "3. v2 answers 10 % 5xx"),
    ("shrink", "4. v2 bodies a tenth (200 vs 2000 B)"),
    ("dies", "5. v2 dies mid-ramp (GRADUAL 0.05 %/req)"),
    ("healthy", "6. healthy v2, jitter 0..20 ms"),
    ("instructions", "7. cost of monitoring (worker)"),
]


def fmt(value):
    return "-" if value is None else ("%.0f" % value)


def median_max(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-", "-"
    return fmt(statistics.median(values)), fmt(max(values))


def table(results_file):
    rows = {}
    with open(results_file) as f:
        for line in f:
            if line.strip():
                result = json.loads(line)
                rows.setdefault(result["scenario"], []).append(result)
    lines = ["| scenario | trials | decision ms median | decision ms max | no traffic ms median | "
             "no traffic ms max | client 5xx | reason that fired | notes |",
             "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    problems = []
    for key, title in SCENARIOS:
        trials = rows.get(key)
        if not trials:
            continue
        if key == "instructions":
            t = trials[0]
            on, off = t.get("on"), t.get("off")
            if on is None or off is None:
                note = "instructions.sh gave no figures"
                problems.append(title + ": " + note)
            else:
                note = ("instructions/request in the worker, INSTANT v2 over v1: monitoring on %d, off %d: "
                        "%+d (%+.1f %%); callgrind, BENCH_FEW=%s, BENCH_MANY=%s sequential requests (time-driven "
                        "work such as HEALTH reports every 100 ms is spread over requests at callgrind's pace)"
                        % (on, off, on - off, 100.0 * (on - off) / off, t.get("few"), t.get("many")))
            lines.append("| %s | 1 | - | - | - | - | - | - | %s |" % (title, note))
            continue
        n = len(trials)
        rolled = sum(1 for t in trials if t.get("rolledBack"))
        decision = median_max([t.get("decisionMs") for t in trials])
        no_traffic = median_max([t.get("noTrafficMs") for t in trials])
        client_5xx = sum(t.get("client5xx", 0) for t in trials)
        no_answer = sum(t.get("clientNoAnswer", 0) for t in trials)
        reasons = {}
        for t in trials:
            if t.get("reason"):
                reasons[t["reason"]] = reasons.get(t["reason"], 0) + 1
        reason = ", ".join("%s x%d" % item for item in sorted(reasons.items())) or "-"
        rates = [t["load"]["rate"] for t in trials if t.get("load")]
        late = sum(t["load"].get("late", 0) for t in trials if t.get("load"))
        notes = []
        if key == "healthy":
            notes.append("rollbacks: %d of %d trials%s" % (rolled, n, " (FALSE POSITIVE)" if rolled else ""))
            notes.append("final health: %s" % ", ".join(str(t.get("health")) for t in trials))
            for t in trials:
                seconds = t.get("verdictSeconds", {})
                notes.append("%.0f s watched: %s" % (t.get("watchedSeconds", 0),
                                                     ", ".join("%s %d s" % kv for kv in sorted(seconds.items()))))
                window = t.get("window") or {}
                if "new" in window:  # a rollback record
                    notes.append("rolled back: %s" % t.get("detail"))
                elif window:
                    notes.append("last window: %d requests, p50 %.1f ms, p99 %.1f ms, errors %.2f %%"
                                 % (window.get("requests", 0), window.get("p50Ms", 0), window.get("p99Ms", 0),
                                    window.get("errorRate", 0)))
            if rolled:
                problems.append("%s: %d false-positive rollback(s)" % (title, rolled))
        else:
            notes.append("rolled back in %d/%d" % (rolled, n))
            if rolled < n:
                problems.append("%s: rolled back in only %d of %d trials" % (title, rolled, n))
        if key == "fail500":
            notes.append("decision = router decidedAtMs - firstFailureAtMs; no traffic = v2 lastRequestAtMs - "
                         "first injected 500")
            applied = median_max([t.get("appliedMs") for t in trials])
            notes.append("all workers applied - firstFailureAtMs: median %s, max %s ms" % applied)
            backend = median_max([t.get("backendErrorToDecisionMs") for t in trials])
            notes.append("first 500 (backend) to decision: median %s, max %s ms" % backend)
            healthy_before = sum(1 for t in trials if t.get("healthBeforeFault") == "healthy")
            notes.append("healthy before the fault in %d/%d" % (healthy_before, n))
        elif key == "dies":
            notes.append("decision = decidedAtMs - kill; no traffic not measurable (backend dead)")
            applied = median_max([t.get("appliedMs") for t in trials])
            notes.append("kill to all workers applied: median %s, max %s ms" % applied)
            shares = [t.get("shareAtKill") for t in trials if t.get("shareAtKill") is not None]
            if shares:
                notes.append("share at kill %.1f..%.1f %%" % (min(shares), max(shares)))
        elif key != "healthy":
            notes.append("decision = decidedAtMs - PUT sent; no traffic = v2 lastRequestAtMs - PUT sent")
            applied = median_max([t.get("appliedMs") for t in trials])
            notes.append("PUT to all workers applied: median %s, max %s ms" % applied)
        if key in ("slow", "errors", "shrink") and trials[0].get("window"):
            w = trials[0]["window"]
            new, old = w.get("new") or {}, w.get("old") or {}
            notes.append("trial 1 evidence: new %s req, p50 %s ms, err %s %%, body %s B; old (%s) %s req, p50 %s ms, "
                         "err %s %%, body %s B" % (new.get("requests"), new.get("p50Ms"), new.get("errorRate"),
                                                   new.get("medianBodyBytes"), old.get("from"), old.get("requests"),
                                                   old.get("p50Ms"), old.get("errorRate"), old.get("medianBodyBytes")))
        if no_answer:
            notes.append("NO ANSWER (connection failed): %d" % no_answer)
            problems.append("%s: %d requests got no answer" % (title, no_answer))
        if client_5xx:
            problems.append("%s: %d client 5xx" % (title, client_5xx))
        stale = sum(t.get("staleV2Answers", 0) for t in trials)
        if stale:
            notes.append("v2 answers to requests sent after all workers applied the rollback: %d" % stale)
            problems.append("%s: %d v2 answers after the rollback was applied" % (title, stale))
        not_confirmed = sum(len(t.get("notConfirmed") or []) for t in trials)
        if not_confirmed:
            notes.append("workers not confirmed: %d" % not_confirmed)
        shielded = [((t.get("window") or {}).get("new") or {}).get("shielded") for t in trials]
        shielded = [s for s in shielded if s is not None]
        if shielded and key != "healthy":
            notes.append("shielded (in the evidence window): median %s" % fmt(statistics.median(shielded)))
        if rates:
            notes.append("load %.0f..%.0f req/s%s" % (min(rates), max(rates), ", %d sent >50 ms late" % late
                                                       if late else ""))
        lines.append("| %s | %d | %s | %s | %s | %s | %d | %s | %s |"
                     % (title, n, decision[0], decision[1], no_traffic[0], no_traffic[1], client_5xx, reason,
                        "; ".join(notes)))
    print("\n".join(lines))
    for problem in problems:
        print("PROBLEM " + problem)


def details(results_file):
    """One line per trial: the figures behind the table."""
    titles = dict(SCENARIOS)
    lines = ["| scenario | trial | rolled back | reason | decision ms | all workers applied ms | no traffic ms | "
             "client 5xx | no answer | shielded | v2 answers | req/s | detail |",
             "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    counts = {}
    with open(results_file) as f:
        for line in f:
            if not line.strip():
                continue
            t = json.loads(line)
            if t["scenario"] == "instructions":
                continue
            counts[t["scenario"]] = counts.get(t["scenario"], 0) + 1
            shielded = ((t.get("window") or {}).get("new") or {}).get("shielded")
            detail = t.get("detail") or t.get("healthDetail") or ""
            lines.append("| %s | %d | %s | %s | %s | %s | %s | %d | %d | %s | %d | %s | %s |" % (
                titles.get(t["scenario"], t["scenario"]).split(" ")[0].rstrip("."), counts[t["scenario"]],
                "yes" if t.get("rolledBack") else "no", t.get("reason") or "-", fmt(t.get("decisionMs")),
                fmt(t.get("appliedMs")), fmt(t.get("noTrafficMs")), t.get("client5xx", 0), t.get("clientNoAnswer", 0),
                "-" if shielded is None else shielded, t.get("v2Answers", 0), (t.get("load") or {}).get("rate", "-"),
                detail.replace("|", "/")))
    print("\n".join(lines))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "details":
        if len(sys.argv) != 3:
            fail("usage: details RESULTS-JSONL")
        details(sys.argv[2])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "analyze":
        if len(sys.argv) != 5:
            fail("usage: analyze TRIAL-JSON LOAD-FILE LOAD-LOG")
        analyze(*sys.argv[2:5])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "table":
        if len(sys.argv) != 3:
            fail("usage: table RESULTS-JSONL")
        table(sys.argv[2])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["trial"])
    parser.add_argument("scenario", choices=["fail500", "slow", "errors", "shrink", "dies", "healthy"])
    parser.add_argument("--api-port", type=int, required=True)
    parser.add_argument("--v1-port", type=int, required=True)
    parser.add_argument("--v2-port", type=int, required=True)
    parser.add_argument("--baseline", type=float, default=2.0)
    parser.add_argument("--v2-pid", type=int, default=0)
    parser.add_argument("--healthy-seconds", type=float, default=300)
    args = parser.parse_args()
    if args.scenario == "dies" and args.v2_pid <= 0:
        fail("dies needs --v2-pid")
    trial(args)


if __name__ == "__main__":
    main()
