"""The ``{{ }}`` expression evaluator: variables, rendering, sandbox refusals, resource caps."""

from __future__ import annotations

import copy
import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hitl_studio.engine.expressions import (
    ExpressionContext,
    ExpressionError,
    check,
    contains_expression,
    evaluate,
    resolve,
)

ORDER = {"id": 7, "amount": 21, "customer": {"name": "Ann", "tags": ["vip"]}, "a b": "spaced", "_id": "x1"}


def context(**overrides: object) -> ExpressionContext:
    values: dict[str, object] = {"json": copy.deepcopy(ORDER)}
    values.update(overrides)
    return ExpressionContext(**values)  # type: ignore[arg-type]


def refusal(template: str, ctx: ExpressionContext | None = None) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        evaluate(template, ctx or context())
    return caught.value


# Values and rendering


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ $json.amount * 2 }}", 42),
        ("{{ $json.amount / 2 }}", 10.5),
        ("  {{ $json.amount > 20 }}\n", True),
        ("{{ None }}", None),
        ("{{ $json.customer }}", {"name": "Ann", "tags": ["vip"]}),
        ("{{ [1, 'a', {'b': None}] }}", [1, "a", {"b": None}]),
        ("{{ (1, 2) }}", [1, 2]),
        ("{{ {'a': {'b': 1}}['a'] }}", {"b": 1}),
        ("{{ {1: 'one'} }}", {"1": "one"}),
        ("{{ timedelta(minutes=2) }}", 120.0),
        ("{{ $json.amount\n     + 1 }}", 22),
    ],
)
def test_a_whole_template_expression_returns_the_value_itself(template: str, expected: object) -> None:
    assert evaluate(template, context()) == expected


def test_text_around_expressions_renders_each_part_like_n8n() -> None:
    template = "Order {{ $json.id }} for {{ $json.customer.name }}: {{ $json.amount * 1.5 }}"
    assert evaluate(template, context()) == "Order 7 for Ann: 31.5"
    rendered = evaluate("[{{ None }}] {{ True }}/{{ False }} {{ $json.customer }} {{ [1, 2] }}", context())
    assert rendered == '[] true/false {"name":"Ann","tags":["vip"]} [1,2]'


def test_strings_without_expressions_are_returned_unchanged() -> None:
    text = "Price: $5 {not an expression}"
    assert evaluate(text, context()) is text
    assert not contains_expression(text)
    assert not contains_expression({"a": [1, "plain", {"b": None}]})
    assert contains_expression({"a": [1, {"b": "{{ $json.id }}"}]})


def test_json_dot_and_subscript_access() -> None:
    ctx = context()
    assert evaluate("{{ $json.customer.tags[0] }}", ctx) == "vip"
    assert evaluate('{{ $json["a b"] }}', ctx) == "spaced"
    assert evaluate("{{ $json['customer']['name'].upper() }}", ctx) == "ANN"
    assert evaluate("{{ $json._id }}", ctx) == "x1"
    assert evaluate("{{ $json.missing }}", ctx) is None
    assert evaluate("{{ $json.get('missing', 'n/a') }}", ctx) == "n/a"


def test_dot_access_reads_keys_named_like_methods_and_calls_reach_methods() -> None:
    ctx = context(json={"items": [1, 2], "format": "pdf", "keys": "k"})
    assert evaluate("{{ $json.items }}", ctx) == [1, 2]
    assert evaluate("{{ $json.format }}", ctx) == "pdf"
    assert evaluate("{{ $json.keys() }}", ctx) == ["items", "format", "keys"]
    assert evaluate("{{ $json.items() }}", ctx) == [["items", [1, 2]], ["format", "pdf"], ["keys", "k"]]
    assert evaluate("{{ sorted($json.values(), key=str) }}", ctx) == [[1, 2], "k", "pdf"]


def test_dollar_inside_string_literals_is_not_rewritten() -> None:
    ctx = context()
    assert evaluate('{{ "costs $5" }}', ctx) == "costs $5"
    assert evaluate("{{ 'a $json b' + \"$x\" }}", ctx) == "a $json b$x"
    assert evaluate('{{ f"costs ${$json.amount}" }}', ctx) == "costs $21"
    assert evaluate('{{ """}} $json""" }}', ctx) == "}} $json"


def test_python_expression_features() -> None:
    ctx = context(input_items=[{"n": 1}, {"n": 2}, {"n": 3}])
    assert evaluate("{{ [i.n * 10 for i in $input.all() if i.n != 2] }}", ctx) == [10, 30]
    assert evaluate("{{ {i.n: i.n ** 2 for i in $input.all()} }}", ctx) == {"1": 1, "2": 4, "3": 9}
    assert evaluate("{{ sum(i.n for i in $input.all()) }}", ctx) == 6
    assert evaluate("{{ 'big' if $json.amount > 20 else 'small' }}", ctx) == "big"
    assert evaluate("{{ 'vip' in $json.customer.tags and not $json.missing }}", ctx) is True
    assert evaluate("{{ $json.customer.name[::-1] }}", ctx) == "nnA"
    assert evaluate('{{ f"{$json.amount:>5.1f}|{$json.customer.name:>4}" }}', ctx) == " 21.0| Ann"
    assert evaluate("{{ dict(zip(['a', 'b'], range(2))) }}", ctx) == {"a": 0, "b": 1}
    assert evaluate("{{ [k for k, v in enumerate('ab', start=1)] }}", ctx) == [1, 2]
    assert evaluate("{{ ', '.join(sorted(['b', 'a'])).title() }}", ctx) == "A, B"
    assert evaluate("{{ round(max(1.26, abs(-2.555)), 2) }}", ctx) == 2.56


def test_helper_functions() -> None:
    ctx = context()
    assert evaluate("{{ json_dumps({'a': [1, True]}) }}", ctx) == '{"a":[1,true]}'
    assert evaluate("{{ json_loads('{\"a\": [1, null]}').a }}", ctx) == [1, None]
    assert uuid.UUID(evaluate("{{ uuid4() }}", ctx)).version == 4
    assert evaluate("{{ md5('abc') }}", ctx) == hashlib.md5(b"abc").hexdigest()
    assert evaluate("{{ sha256('abc') }}", ctx) == hashlib.sha256(b"abc").hexdigest()
    assert evaluate("{{ b64decode(b64encode('héllo')) }}", ctx) == "héllo"
    assert evaluate("{{ (date('2024-01-31') + timedelta(days=1)).isoformat() }}", ctx) == "2024-02-01T00:00:00+00:00"
    assert evaluate("{{ date('2024-01-31T10:00:00Z').hour }}", ctx) == 10


# $ variables


def test_input_all_first_last_and_item() -> None:
    items = [{"n": 1}, {"n": 2}, {"n": 3}]
    ctx = context(json=items[1], item_index=1, input_items=items)
    assert evaluate("{{ $input.all() }}", ctx) == items
    assert evaluate("{{ $input.first().n }}", ctx) == 1
    assert evaluate("{{ $input.last().n }}", ctx) == 3
    assert evaluate("{{ $input.item.n }}", ctx) == 2
    assert evaluate("{{ len($input.all()) }}", ctx) == 3
    assert evaluate("{{ $input.first() }}", context(input_items=[])) is None


def test_node_json_pairs_items_by_index_and_falls_back_to_the_first() -> None:
    outputs = {"Fetch": [{"id": "a"}, {"id": "b"}]}
    assert evaluate('{{ $node["Fetch"].json.id }}', context(node_outputs=outputs, item_index=1)) == "b"
    assert evaluate('{{ $node["Fetch"].json.id }}', context(node_outputs=outputs, item_index=5)) == "a"
    assert evaluate('{{ [i.id for i in $node["Fetch"].all()] }}', context(node_outputs=outputs)) == ["a", "b"]


def test_node_that_has_not_run_is_named_in_the_error() -> None:
    error = refusal('{{ $node["Later"].json }}', context(node_outputs={"Fetch": []}))
    assert "node 'Later' has not run yet in this execution" in error.reason
    assert "returned no items" in refusal('{{ $node["Fetch"].json }}', context(node_outputs={"Fetch": []})).reason


def test_now_and_today_are_in_the_workflow_timezone() -> None:
    ctx = context(now=datetime(2024, 3, 10, 23, 30, tzinfo=UTC), timezone="Europe/Paris")
    assert evaluate("{{ $now }}", ctx) == "2024-03-11T00:30:00+01:00"
    assert evaluate("{{ $today }}", ctx) == "2024-03-11T00:00:00+01:00"
    assert evaluate("{{ $now.hour }}/{{ $today.weekday() }}", ctx) == "0/0"
    assert evaluate("{{ $now.strftime('%d.%m.%Y') }}", ctx) == "11.03.2024"
    assert evaluate("{{ ($now - $today).total_seconds() }}", ctx) == 1800.0
    assert evaluate("{{ $now.astimezone('America/New_York').hour }}", ctx) == 19


def test_now_defaults_to_the_time_of_evaluation() -> None:
    value = datetime.fromisoformat(evaluate("{{ $now }}", context()))
    assert value.tzinfo is not None
    assert abs(value - datetime.now(UTC)) < timedelta(seconds=5)
    assert "unknown timezone 'Mars/Base'" in refusal("{{ $now }}", context(timezone="Mars/Base")).reason


def test_env_reads_only_allow_listed_variables() -> None:
    ctx = context(env={"API_BASE": "https://api.example.com"})
    assert evaluate("{{ $env.API_BASE }}/v1", ctx) == "https://api.example.com/v1"
    assert evaluate('{{ $env["API_BASE"] }}', ctx) == "https://api.example.com"
    assert evaluate("{{ 'API_BASE' in $env and 'SECRET' not in $env }}", ctx) is True
    for template in ("{{ $env.SECRET }}", '{{ $env["SECRET"] }}'):
        reason = refusal(template, ctx).reason
        assert "SECRET" in reason
        assert "HITL_EXPRESSION_ENV" in reason


def test_execution_workflow_and_indexes() -> None:
    ctx = context(
        execution_id="ex-1",
        execution_mode="webhook",
        workflow_id="wf-9",
        workflow_name="Refunds",
        run_index=2,
        item_index=4,
    )
    template = "{{ $execution.id }} {{ $execution.mode }} {{ $workflow.id }} {{ $workflow.name }} {{ $runIndex }}"
    assert evaluate(template, ctx) == "ex-1 webhook wf-9 Refunds 2"
    assert evaluate("{{ $itemIndex + 1 }}", ctx) == 5


# Errors


def test_error_message_names_the_expression_and_the_reason() -> None:
    error = refusal("Total: {{ $json.amount + }}")
    assert error.expression == "{{ $json.amount + }}"
    assert error.reason == "invalid syntax"
    assert str(error) == "Expression error in {{ $json.amount + }}: invalid syntax"


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ('{{ $json["missing"] }}', "key 'missing' not found; use .get('missing')"),
        ("{{ $json.customer.tags[3] }}", "index 3 is out of range (length 1)"),
        ("{{ 'a' + 1 }}", 'can only concatenate str (not "int") to str'),
        ("{{ $json.amount / 0 }}", "division by zero"),
        ("{{ $json.missing.name }}", "cannot read '.name' of None"),
        ("{{ $json.missing['name'] }}", "cannot read ['name'] of None"),
        ("{{ int('abc') }}", "invalid literal for int()"),
        ("{{ json_loads('{') }}", "Expecting property name"),
        ("{{ $json.customer.name.nope() }}", "'.nope()' is not an available method"),
        ("{{ $json.amount.upper() }}", "'.upper' is not available on int"),
        ("{{ $input }}", "the result is $input itself"),
        ("{{ $json.customer.name.upper }}", "call it with ()"),
        ("{{ $foo }}", "unknown variable $foo"),
        ("{{ amount }}", "unknown name 'amount'; variables start with $ (for example $json.amount)"),
    ],
)
def test_runtime_and_name_errors_become_readable_expression_errors(template: str, reason: str) -> None:
    assert reason in refusal(template).reason


# The sandbox

FORBIDDEN = [
    pytest.param("{{ $json.__class__ }}", "'.__class__' is not allowed", id="dunder on data"),
    pytest.param("{{ ().__class__.__bases__ }}", "is not allowed", id="dunder on a literal"),
    pytest.param("{{ 'a'.__class__.__mro__ }}", "is not allowed", id="dunder on text"),
    pytest.param("{{ __import__('os').system('id') }}", "'__import__' is not allowed", id="__import__"),
    pytest.param("{{ eval('1 + 1') }}", "'eval' is not allowed", id="eval"),
    pytest.param("{{ exec('x = 1') }}", "'exec' is not allowed", id="exec"),
    pytest.param("{{ open('/etc/passwd').read() }}", "'open' is not allowed", id="open"),
    pytest.param("{{ getattr($json, 'x') }}", "'getattr' is not allowed", id="getattr"),
    pytest.param("{{ type($json) }}", "'type' is not allowed", id="type"),
    pytest.param("{{ (lambda: 1)() }}", "lambda", id="lambda"),
    pytest.param("{{ sorted([2, 1], key=lambda x: x) }}", "lambda", id="lambda as key"),
    pytest.param("{{ x = 1 }}", "statements", id="assignment"),
    pytest.param("{{ (x := 1) }}", "assignment (:=)", id="walrus"),
    pytest.param("{{ import os }}", "statements", id="import"),
    pytest.param("{{ [1 for $json in [1]] }}", "$json cannot be assigned", id="rebinding a variable"),
    pytest.param("{{ '{0.__class__}'.format(1) }}", "'.format()' is not an available method", id="str.format"),
    pytest.param("{{ str.upper('a') }}", "'.upper' is not available on type", id="attribute on a type"),
    pytest.param("{{ $json.customer.tags.append(1) }}", "'.append()' is not an available method", id="mutation"),
    pytest.param("{{ $json.get.__self__ }}", "is not allowed", id="method internals"),
    pytest.param("{{ 9**9**9 }}", "is too large", id="huge power"),
    pytest.param("{{ 3999999 ** 3999999 }}", "is too large", id="power simpleeval allows"),
    pytest.param("{{ 'a' * 10**9 }}", "longer than 1,000,000", id="huge string"),
    pytest.param("{{ [0] * 10**7 }}", "longer than 1,000,000", id="huge list"),
    pytest.param("{{ ' '.join(['x' * 100000] * 20) }}", "longer than 1,000,000", id="huge join"),
    pytest.param("{{ ('a' * 1000).replace('', 'b' * 1000) }}", "longer than 1,000,000", id="huge replace"),
    pytest.param("{{ 'a'.center(10**9) }}", "longer than 1,000,000", id="huge padding"),
    pytest.param("{{ f'{1:>999999999}' }}", "format specs", id="huge f-string width"),
    pytest.param("{{ '%999999999d' % 1 }}", "'%' formatting is not supported", id="percent formatting"),
    pytest.param("{{ round(5, -10**9) }}", "at most 100 digits", id="huge round"),
    pytest.param("{{ sum([[0] * 1000] * 1000, []) }}", "sum() adds numbers only", id="sum of lists"),
    pytest.param("{{ range(10**6) }}", "range() may produce at most 100,000", id="huge range"),
    pytest.param("{{ [x for x in range(10**9)] }}", "range() may produce at most", id="comprehension over range"),
    pytest.param(
        "{{ [x for x in range(100000)] }}", "comprehension may produce at most 10,000", id="long comprehension"
    ),
    pytest.param(
        "{{ [[y for y in range(1000)] for x in range(1000)] }}",
        "comprehension may produce at most 10,000",
        id="nested comprehensions",
    ),
]


@pytest.mark.parametrize(("template", "reason"), FORBIDDEN)
def test_forbidden_things_are_refused_quickly_with_a_reason(template: str, reason: str) -> None:
    started = time.perf_counter()
    error = refusal(template)
    assert time.perf_counter() - started < 1.0
    assert reason in error.reason
    assert error.expression == template


def test_shared_references_cannot_build_a_value_too_big_to_print() -> None:
    # Each level references the previous list 100 times: 100**4 zeros in a few kilobytes of memory.
    # Printing it (str, JSON, comparison) would never end, so building it is refused.
    nested = "[[0] * 100]"
    for _ in range(4):
        nested = f"[[v for _ in range(100)] for v in {nested}]"
    started = time.perf_counter()
    error = refusal("{{ len(str(" + nested + ")) }}")
    assert time.perf_counter() - started < 1.0
    assert "the value is too large" in error.reason


def test_expressions_cannot_change_the_items_they_read() -> None:
    ctx = context()
    result = evaluate("{{ $json.customer }}", ctx)
    result["name"] = "Changed"
    result["tags"].append("changed")
    assert ctx.json == ORDER


# check()


@pytest.mark.parametrize(
    "template",
    [
        "plain text",
        "{{ $json.amount * 2 }}",
        "Hi {{ $json.name }}, {{ $node['Fetch'].json.id }} {{ $env.API }} {{ $now.year }}",
        "{{ {'a': {'b': 1}} }}",
        "{{ f'{$json.x:>{$json.width}}' }}",
        "{{ [x for x in $input.all() if x.ok] }}",
    ],
)
def test_check_accepts_valid_templates(template: str) -> None:
    assert check(template) is None


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ $json.x", "Expression error in {{ $json.x: missing closing }}"),
        ("ok {{ 1 }} then {{ $json.x + }}", "Expression error in {{ $json.x + }}: invalid syntax"),
        ("{{ 'abc }}", "a string is not closed"),
        ("{{ }}", "the expression is empty"),
        ("{{ $json.__class__ }}", "access to '.__class__' is not allowed"),
        ("{{ $json.x.format() }}", "'.format()' is not an available method"),
        ("{{ $nope.x }}", "unknown variable $nope"),
        ("{{ $ }}", "'$' must be followed by a variable name"),
        ("{{ open('f') }}", "'open' is not allowed"),
    ],
)
def test_check_reports_problems_without_data(template: str, message: str) -> None:
    found = check(template)
    assert found is not None
    assert message in found


# resolve()


def test_resolve_evaluates_deeply_and_leaves_the_input_alone() -> None:
    parameters = {
        "url": "https://x.test/orders/{{ $json.id }}",
        "body": {"amount": "{{ $json.amount * 2 }}", "lines": ["{{ $json.customer.name }}", 3, None]},
        "fixed": {"a": [1, 2]},
    }
    before = copy.deepcopy(parameters)
    resolved = resolve(parameters, context())
    assert resolved == {
        "url": "https://x.test/orders/7",
        "body": {"amount": 42, "lines": ["Ann", 3, None]},
        "fixed": {"a": [1, 2]},
    }
    assert parameters == before
    assert resolved["fixed"] is not parameters["fixed"]


def test_resolve_returns_values_without_expressions_as_they_are() -> None:
    parameters = {"a": [1, {"b": "plain"}]}
    assert resolve(parameters, context()) is parameters
    assert resolve(5, context()) == 5


def test_resolve_reports_an_unclosed_expression_instead_of_passing_it_on() -> None:
    with pytest.raises(ExpressionError, match="missing closing"):
        resolve({"a": "{{ $json.id"}, context())


# Compile cache


def test_a_cached_template_is_evaluated_afresh_for_each_item() -> None:
    template = "{{ $json.n * 2 }} / {{ $itemIndex }}"
    results = [evaluate(template, context(json={"n": n}, item_index=n)) for n in (1, 2, 1)]
    assert results == ["2 / 1", "4 / 2", "2 / 1"]
    for _ in range(2):
        assert "missing closing" in refusal("{{ $json.n").reason
