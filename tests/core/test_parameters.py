import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.parameters import Direction, Parameter, apply_outputs, inputs_to_send, outputs_to_write, render_value

IN, OUT, BOTH = Direction.INPUT, Direction.OUTPUT, Direction.INPUT_OUTPUT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Input", IN),
        ("input", IN),
        ("OUTPUT", OUT),
        ("InputOutput", BOTH),
        ("Input&Output", BOTH),
        ("input&output", BOTH),
    ],
)
def test_direction_parse_accepts_both_spellings_in_any_case(text, expected):
    assert Direction.parse(text) is expected


@pytest.mark.parametrize("text", ["", "In", "Input & Output", "Input_Output", " Input", "Both", None, 1])
def test_direction_parse_refuses_anything_else(text):
    with pytest.raises(ValueError, match="must be one of"):
        Direction.parse(text)


def test_direction_flows():
    assert [d for d in Direction if d.sends] == [IN, BOTH]
    assert [d for d in Direction if d.receives] == [OUT, BOTH]


PARAMS = [
    Parameter("learning_rate", IN, "0.01"),
    Parameter("epochs", IN, None),
    Parameter("thread_id", BOTH, "thread_1"),
    Parameter("response", OUT),
    Parameter("model_uri", OUT, None),
]


def test_inputs_to_send_are_input_and_input_output_with_values():
    assert inputs_to_send(PARAMS) == {"learning_rate": "0.01", "thread_id": "thread_1"}


def test_outputs_to_write_are_output_and_input_output():
    assert [p.name for p in outputs_to_write(PARAMS)] == ["thread_id", "response", "model_uri"]


def test_apply_outputs_fills_receiving_parameters_by_exact_name():
    outputs = {"learning_rate": "9", "thread_id": "thread_2", "response": "hi", "Model_URI": "x", "extra": 1}
    assert apply_outputs(PARAMS, outputs) == [
        Parameter("learning_rate", IN, "0.01"),  # an Input is never overwritten
        Parameter("epochs", IN, None),
        Parameter("thread_id", BOTH, "thread_2"),
        Parameter("response", OUT, "hi"),
        Parameter("model_uri", OUT, None),  # names match exactly
    ]


def test_apply_outputs_renders_json_values():
    params = [Parameter(n, OUT) for n in ("a", "b", "c", "d", "e")]
    outputs = {"a": 0.5, "b": True, "c": {"k": [1, "é"]}, "d": None, "e": 7}
    assert [p.value for p in apply_outputs(params, outputs)] == ["0.5", "true", '{"k":[1,"é"]}', None, "7"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0.01", "0.01"),
        ("", ""),
        (True, "true"),
        (False, "false"),
        (10, "10"),
        (-3, "-3"),
        (0.1, "0.1"),
        (1e-05, "1e-05"),
        (1.0, "1.0"),
        (float("nan"), "NaN"),
        (None, None),
        ([1, 2], "[1,2]"),
    ],
)
def test_render_value_uses_json_text(value, text):
    assert render_value(value) == text


def test_render_value_refuses_non_json():
    with pytest.raises(TypeError):
        render_value(object())


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_rendered_floats_read_back_exactly(value):
    assert float(render_value(value)) == value


def test_parameter_to_dict_omits_a_missing_value():
    assert Parameter("a", BOTH).to_dict() == {"name": "a", "direction": "InputOutput"}
    assert Parameter("a", IN, "").to_dict() == {"name": "a", "direction": "Input", "value": ""}
