"""A small v2 app for the devhost's conformance tests: one orchestration per Durable feature, plus triggers."""

import json
import time
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


# -- HTTP and Event Grid triggers -----------------------------------------------------------------------------
@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The samples' starter: start_new + create_check_status_response (so the SDK client talks to the host)."""
    body = req.get_body()
    instance_id = await client.start_new(
        req.route_params["name"], req.params.get("id"), json.loads(body) if body else None
    )
    return client.create_check_status_response(req, instance_id)


@app.route(route="status/{instance_id}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def http_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    status = await client.get_status(req.route_params["instance_id"])
    if not status:
        return func.HttpResponse(status_code=404)
    return func.HttpResponse(json.dumps(status.to_json(), default=str), mimetype="application/json")


@app.route(route="raise/{instance_id}/{event}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_raise(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    await client.raise_event(req.route_params["instance_id"], req.route_params["event"], req.get_json())
    return func.HttpResponse(status_code=202)


@app.route(route="ping", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def ping(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps({"function": context.function_name, "url": req.url, "params": dict(req.params)}),
        mimetype="application/json",
    )


@app.route(route="items/{id:int}/{*rest}", methods=["GET", "PUT"])
def items(req: func.HttpRequest) -> str:
    return f"{req.method} item {req.route_params['id']} rest={req.route_params.get('rest')}"


@app.route(route="admin-only", auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(status_code=204)


@app.route(route="explode", auth_level=func.AuthLevel.ANONYMOUS)
def explode(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("kaboom")


@app.event_grid_trigger(arg_name="event")
@app.durable_client_input(client_name="client")
async def on_event(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    """Start one orchestration per subject; duplicate deliveries collapse on the instance id (the events of one
    delivery run concurrently, as the extension runs them, so the loser of a start race sees the winner)."""
    data = event.get_json()
    if (data or {}).get("fail"):
        raise ValueError(f"rejected event {event.id}")
    instance_id = "eg-" + event.subject.strip("/").replace("/", "-")
    existing = await client.get_status(instance_id)
    if existing and existing.runtime_status and existing.runtime_status.name in ("Running", "Pending"):
        return
    kind = event.type if isinstance(event, func.CloudEvent) else event.event_type
    try:
        await client.start_new("sequence", instance_id, [kind])
    except Exception:
        existing = await client.get_status(instance_id)
        if not existing or not existing.runtime_status:
            raise


# -- orchestrators --------------------------------------------------------------------------------------------
@app.orchestration_trigger(context_name="context")
def sequence(context: df.DurableOrchestrationContext):
    results = []
    for city in context.get_input() or []:
        results.append((yield context.call_activity("hello", city)))
    return results


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()
    results = yield context.task_all([context.call_activity("hello", str(i)) for i in range(count)])
    return results


@app.orchestration_trigger(context_name="context")
def fan_out_slow(context: df.DurableOrchestrationContext):
    """Activities that take real time, more of them than host.json allows at once."""
    spec = context.get_input()
    calls = [
        context.call_activity("record", {"folder": spec["folder"], "name": f"slow{i}", "seconds": spec["seconds"]})
        for i in range(spec["count"])
    ]
    return (yield context.task_all(calls))


@app.orchestration_trigger(context_name="context")
def with_retry(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=60_000, max_number_of_attempts=3)
    return (yield context.call_activity_with_retry("flaky", options, context.get_input()))


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    """Human interaction: an external event raced against a durable timer (samples E4)."""
    hours = context.get_input() or 1
    deadline = context.current_utc_datetime + timedelta(hours=hours)
    context.set_custom_status({"phase": "waiting", "deadline": deadline.isoformat()})
    timer = context.create_timer(deadline)
    approved = context.wait_for_external_event("Approval")
    winner = yield context.task_any([approved, timer])
    if winner == approved:
        timer.cancel()
        context.set_custom_status({"phase": "approved"})
        return {"approved": approved.result}
    context.set_custom_status({"phase": "timed-out"})
    return {"approved": None, "at": context.current_utc_datetime.isoformat()}


@app.orchestration_trigger(context_name="context")
def monitor(context: df.DurableOrchestrationContext):
    """Polls with durable timers for a long (virtual) time: 6 hours every 5 minutes, with continue_as_new."""
    state = context.get_input()
    polls, until = state["polls"], state["until"]
    for _ in range(12):
        if context.current_utc_datetime.isoformat() >= until:
            return {"polls": polls, "finished": context.current_utc_datetime.isoformat()}
        polls += 1
        context.set_custom_status({"polls": polls})
        yield context.create_timer(context.current_utc_datetime + timedelta(minutes=5))
    context.continue_as_new({"polls": polls, "until": until})


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):
    value = context.get_input()
    context.set_custom_status({"value": value})
    if value >= 3:
        return value
    yield context.call_activity("hello", str(value))
    context.continue_as_new(value + 1)


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    child_id = f"{context.instance_id}-child"
    first = yield context.call_sub_orchestrator("sequence", ["a", "b"], child_id)
    second = yield context.call_sub_orchestrator_with_retry("fails_once", df.RetryOptions(1000, 2), context.instance_id)
    return [first, second]


@app.orchestration_trigger(context_name="context")
def fails_once(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("flaky", {"key": f"sub-{context.get_input()}", "failures": 1}))


@app.orchestration_trigger(context_name="context")
def surfaces_error(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("boom", "disk-0")
    except Exception as exc:
        return {"caught": str(exc)}


@app.orchestration_trigger(context_name="context")
def unhandled(context: df.DurableOrchestrationContext):
    yield context.call_activity("boom", "disk-1")


@app.orchestration_trigger(context_name="context")
def flaky_once(context: df.DurableOrchestrationContext):
    """Fails on the first run (no retry): the rewind target."""
    return (yield context.call_activity("flaky", {"key": context.instance_id, "failures": 1}))


@app.orchestration_trigger(context_name="context")
def crash_test(context: df.DurableOrchestrationContext):
    """A recorded activity, then a timer and a slow activity in flight together: the kill -9 target."""
    folder = context.get_input()
    first = yield context.call_activity("record", {"folder": folder, "name": "first", "seconds": 0})
    timer = context.create_timer(context.current_utc_datetime + timedelta(minutes=30))
    slow = context.call_activity("record", {"folder": folder, "name": "slow", "seconds": 3})
    _, second = yield context.task_all([timer, slow])
    return [first, second, context.current_utc_datetime.isoformat()]


@app.orchestration_trigger(context_name="context")
def wait_forever(context: df.DurableOrchestrationContext):
    context.set_custom_status("waiting")
    yield context.wait_for_external_event("never")


@app.orchestration_trigger(context_name="context")
def big_status(context: df.DurableOrchestrationContext):
    """A small custom status, then one of ``input`` characters (the host's limit is 16 KB in UTF-16)."""
    context.set_custom_status({"phase": "small"})
    yield context.call_activity("hello", "before")
    context.set_custom_status({"blob": "x" * context.get_input()})
    yield context.call_activity("hello", "after")
    return "done"


@app.orchestration_trigger(context_name="context")
def long_retry(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=7 * 86_400_000, max_number_of_attempts=2)
    return (yield context.call_activity_with_retry("hello", options, "retry"))


@app.orchestration_trigger(context_name="context")
def entity_id_child(context: df.DurableOrchestrationContext):
    return (yield context.call_sub_orchestrator("sequence", ["a"], "@counter@one"))


@app.orchestration_trigger(context_name="context")
def result_and_event(context: df.DurableOrchestrationContext):
    """An activity result and an event delivered in one episode: what the code right after the result sees."""
    stop = context.wait_for_external_event("stop")
    gate = context.call_activity("gate", context.get_input())
    context.set_custom_status("at the gate")
    winner = yield context.task_any([gate, stop])
    first, stop_seen_then = ("gate" if winner == gate else "stop"), stop.is_completed
    yield context.call_activity("hello", "after")
    return {"first": first, "stopSeenThen": stop_seen_then, "stopSeenLater": stop.is_completed}


# -- activities -----------------------------------------------------------------------------------------------
@app.activity_trigger(input_name="name")
def hello(name: str) -> str:
    return f"Hello {name}"


_attempts: dict[str, int] = {}


@app.activity_trigger(input_name="spec")
def flaky(spec: dict) -> str:
    key, failures = spec["key"], spec["failures"]
    _attempts[key] = _attempts.get(key, 0) + 1
    if _attempts[key] <= failures:
        raise ConnectionError(f"transient failure {_attempts[key]} of {key}")
    return f"{key} ok after {_attempts[key]} attempts"


@app.activity_trigger(input_name="disk")
def boom(disk: str) -> None:
    raise ValueError(f"data disk {disk} exceeds 1 TB")


@app.activity_trigger(input_name="folder")
def gate(folder: str) -> str:
    """Returns once the test creates ``<folder>/open`` (at most 30 s)."""
    deadline = time.monotonic() + 30
    while not (Path(folder) / "open").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return "passed"


@app.activity_trigger(input_name="spec")
def record(spec: dict) -> str:
    """Writes one marker file per execution (at-least-once is observable), optionally taking real time."""
    folder = Path(spec["folder"])
    marker = folder / f"{spec['name']}-{time.time_ns()}"
    marker.write_text("started")
    time.sleep(spec["seconds"])
    marker.write_text("done")
    return f"{spec['name']} done"


# -- durable entities (out-of-process protocol) ---------------------------------------------------------------
@app.entity_trigger(context_name="context", entity_name="tally")
def tally(context: df.DurableEntityContext) -> None:
    """A counter: ``add`` (returns the new total), ``get``, ``fail`` (raises; the state keeps its value), ``reset``."""
    total = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        total += int(context.get_input())
        context.set_state(total)
        context.set_result(total)
    elif operation == "get":
        context.set_result(total)
    elif operation == "fail":
        raise ValueError(f"refused at {total}")
    elif operation == "reset":
        context.destruct_on_exit()


@app.orchestration_trigger(context_name="context")
def use_tally(context: df.DurableOrchestrationContext):
    """Signal (fire and forget), call, and catch a failed operation; the key is the input."""
    entity = df.EntityId("tally", context.get_input())
    context.signal_entity(entity, "add", 5)
    total = yield context.call_entity(entity, "add", 10)
    try:
        yield context.call_entity(entity, "fail")
        failure = None
    except Exception as exc:
        failure = str(exc)
    after = yield context.call_entity(entity, "get")
    return {"total": total, "failure": failure, "after": after}


@app.orchestration_trigger(context_name="context")
def signal_and_finish(context: df.DurableOrchestrationContext):
    """A signal sent in the episode that completes the execution is delivered all the same (DTFx sends it)."""
    context.signal_entity(df.EntityId("tally", context.get_input()), "add", 1)
    return "done"
    yield  # a generator: the SDK drives it


@app.orchestration_trigger(context_name="context")
def call_unknown_entity(context: df.DurableOrchestrationContext):
    return (yield context.call_entity(df.EntityId("nobody", "k"), "get"))


@app.route(route="tally/{key}", methods=["POST", "GET"])
@app.durable_client_input(client_name="client")
async def tally_client(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The SDK client's entity API: POST ``?add=N`` signals, GET reads the state."""
    entity = df.EntityId("tally", req.route_params["key"])
    if req.method == "POST":
        await client.signal_entity(entity, "add", int(req.params["add"]))
        return func.HttpResponse(status_code=202)
    state = await client.read_entity_state(entity)
    body = {"exists": state.entity_exists, "state": state.entity_state}
    return func.HttpResponse(json.dumps(body), mimetype="application/json")
