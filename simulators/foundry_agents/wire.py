"""Foundry Agent Service wire details: errors, ids, timestamps, content blocks, body checks, list pages.

foundry-agents.md ("the reference"): errors are `AgentV1Error` `{"error": {code, message, type, param}}`
(§4, all four present, nullable); ids are a prefix plus 24 alphanumerics and timestamps Unix seconds
(§2); lists take `limit` 1..100 (default 20), `order` asc|desc (default desc), `after`/`before` object
cursors and answer `{object: "list", data, first_id, last_id, has_more}` (§1, simulator item 4).
Texts the reference does not give follow the OpenAI Assistants wording it cites; each is marked [U].
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from simulators.routing import Response

T = TypeVar("T")

ID_ALPHABET = string.ascii_letters + string.digits
ID_LENGTH = 24  # §2: observed ids are prefix + 24 alphanumerics
INVALID_REQUEST = "invalid_request_error"
MAX_METADATA_KEYS, MAX_METADATA_KEY, MAX_METADATA_VALUE = 16, 64, 512  # §2, Agent.metadata
DEFAULT_LIMIT, MAX_LIMIT = 20, 100  # §1, pagination

_random = random.SystemRandom()  # ids never repeat across resets or processes


class ApiError(Exception):
    """A refusal in the AgentV1Error shape; handlers raise it, the platform answers it."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        type: str | None = INVALID_REQUEST,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.type, self.param = status, message, code, type, param

    def response(self) -> Response:
        return Response(self.status, error_body(self.message, self.code, self.type, self.param))


def error_body(
    message: str, code: str | None = None, type: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """§4: `AgentV1Error`, with all four inner fields present (null when unknown)."""
    return {"error": {"code": code, "message": message, "type": type, "param": param}}


def new_id(prefix: str) -> str:
    """`asst_`, `thread_`, `msg_`, `run_`, `call_` + 24 alphanumerics (§2, simulator item 3)."""
    return prefix + "_" + "".join(_random.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


def unix(moment: datetime | None) -> int | None:
    """§2: timestamps are Unix seconds."""
    return None if moment is None else int(moment.timestamp())


def not_found(kind: str, object_id: str) -> ApiError:
    """§4 (body text [U]): 404 with the OpenAI wording, e.g. "No thread found with id 'thread_x'."."""
    return ApiError(404, f"No {kind} found with id '{object_id}'.")


def missing(param: str) -> ApiError:
    # [U] OpenAI wording
    return ApiError(400, f"Missing required parameter: '{param}'.", code="missing_required_parameter", param=param)


def invalid(param: str, message: str, code: str = "invalid_value") -> ApiError:
    return ApiError(400, f"Invalid '{param}': {message}", code=code, param=param)


# -- content ---------------------------------------------------------------------------------------


def text_block(value: str) -> dict[str, Any]:
    """An output text item: `{"type": "text", "text": {"value", "annotations": []}}` (§2)."""
    return {"type": "text", "text": {"value": value, "annotations": []}}


def content_blocks(content: Any, param: str) -> list[dict[str, Any]]:
    """The stored (output) content of a message: a string or input blocks `text`/`image_file`/`image_url`."""
    if isinstance(content, str):
        if not content:
            raise invalid(param, "empty string. Expected a string with minimum length 1.", "empty_string")
        return [text_block(content)]
    if not isinstance(content, list) or not content:
        raise invalid(param, "expected a string or a non-empty array of content blocks.", "invalid_type")
    blocks = []
    for index, block in enumerate(content):
        where = f"{param}[{index}]"
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "text":
            text = block.get("text")
            if isinstance(text, Mapping):  # already in output form (value + annotations)
                if not isinstance(text.get("value"), str):
                    raise invalid(f"{where}.text.value", "expected a string.", "invalid_type")
                blocks.append(
                    {
                        "type": "text",
                        "text": {"value": text["value"], "annotations": list(text.get("annotations") or [])},
                    }
                )
            elif isinstance(text, str):
                blocks.append(text_block(text))
            else:
                raise invalid(f"{where}.text", "expected a string.", "invalid_type")
        elif kind in ("image_file", "image_url"):
            detail = block.get(kind)
            key = "file_id" if kind == "image_file" else "url"
            if not isinstance(detail, Mapping) or not isinstance(detail.get(key), str):
                raise missing(f"{where}.{kind}.{key}")
            blocks.append({"type": kind, kind: dict(detail)})
        else:
            raise invalid(f"{where}.type", f"{kind!r}. Supported values are: 'text', 'image_file' and 'image_url'.")
    return blocks


def text_of(blocks: Sequence[Mapping[str, Any]]) -> str:
    """All text items of a content list, joined by newlines."""
    return "\n".join(block["text"]["value"] for block in blocks if block.get("type") == "text")


# -- body checks -----------------------------------------------------------------------------------


def body_object(body: Any, optional: bool = False) -> dict[str, Any]:
    """The JSON body as an object (§2: `POST /threads` may have no body at all)."""
    if body is None and optional:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_type")
    return body


def check_metadata(value: Any, param: str = "metadata") -> dict[str, str] | None:
    """§2: metadata is a nullable map str -> str, ≤16 keys, keys ≤64 chars, values ≤512 chars."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise invalid(param, "expected an object.", "invalid_type")
    if len(value) > MAX_METADATA_KEYS:
        raise invalid(param, f"too many properties. Expected at most {MAX_METADATA_KEYS}, got {len(value)}.")
    for key, item in value.items():
        if len(key) > MAX_METADATA_KEY:
            raise invalid(f"{param}.{key}", f"key too long. Expected at most {MAX_METADATA_KEY} characters.")
        if not isinstance(item, str):
            raise invalid(f"{param}.{key}", "expected a string.", "invalid_type")
        if len(item) > MAX_METADATA_VALUE:
            raise invalid(f"{param}.{key}", f"value too long. Expected at most {MAX_METADATA_VALUE} characters.")
    return dict(value)


def check_message(options: Any, param: str) -> dict[str, Any]:
    """§2 ThreadMessageOptions: `role` user|assistant and `content` required, `attachments`, `metadata`.

    `param` is where the message sits in the body ("" for the body itself), for error `param`s.
    """

    def at(name: str) -> str:
        return f"{param}.{name}" if param else name

    if not isinstance(options, Mapping):
        raise invalid(param, "expected an object.", "invalid_type")
    role = options.get("role")
    if role is None:
        raise missing(at("role"))
    if role not in ("user", "assistant"):
        message = f"Invalid value: '{role}'. Supported values are: 'user' and 'assistant'."
        raise ApiError(400, message, code="invalid_value", param=at("role"))
    if options.get("content") is None:
        raise missing(at("content"))
    attachments = options.get("attachments")
    if attachments is not None and not isinstance(attachments, list):
        raise invalid(at("attachments"), "expected an array.", "invalid_type")
    return {
        "role": role,
        "content": content_blocks(options["content"], at("content")),
        "attachments": attachments,
        "metadata": check_metadata(options.get("metadata"), at("metadata")),
    }


def check_messages(value: Any, param: str) -> list[dict[str, Any]]:
    """A nullable array of ThreadMessageOptions (thread `messages`, run `additional_messages`)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(param, "expected an array.", "invalid_type")
    return [check_message(item, f"{param}[{index}]") for index, item in enumerate(value)]


def check_tools(value: Any, param: str = "tools") -> list[dict[str, Any]] | None:
    """Tools are `{type, ...}` objects; a `function` tool needs `function.name` (§2)."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise invalid(param, "expected an array.", "invalid_type")
    for index, tool in enumerate(value):
        if not isinstance(tool, Mapping) or not isinstance(tool.get("type"), str):
            raise missing(f"{param}[{index}].type")
        if tool["type"] == "function":
            function = tool.get("function")
            if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
                raise missing(f"{param}[{index}].function.name")
    return [dict(tool) for tool in value]


# -- lists -----------------------------------------------------------------------------------------


def page(
    items: Sequence[T], query: Mapping[str, str], id_of: Callable[[T], str], render: Callable[[T], Any]
) -> dict[str, Any]:
    """One list page (§1): `items` come oldest first; `limit`, `order`, `after`, `before` from the query.

    `after` pages away from the cursor in list order; `before` alone returns the `limit` items just
    before it ([U]: the reference gives no rule). An unknown cursor is a 400 ([U]). `first_id` and
    `last_id` are null on an empty page.
    """
    limit = _limit(query.get("limit"))
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise ApiError(
            400,
            f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.",
            code="invalid_value",
            param="order",
        )
    ordered = list(items) if order == "asc" else list(reversed(items))
    ids = [id_of(item) for item in ordered]
    start, end = 0, len(ordered)
    for name in ("after", "before"):
        cursor = query.get(name)
        if cursor is None:
            continue
        if cursor not in ids:
            raise invalid(name, f"no object with id '{cursor}' in this list.")
        if name == "after":
            start = ids.index(cursor) + 1
        else:
            end = ids.index(cursor)
    window = ordered[start:end] if start < end else []
    backwards = "before" in query and "after" not in query
    chosen = window[-limit:] if backwards else window[:limit]
    data = [render(item) for item in chosen]
    return {
        "object": "list",
        "data": data,
        "first_id": id_of(chosen[0]) if chosen else None,
        "last_id": id_of(chosen[-1]) if chosen else None,
        "has_more": len(window) > limit,
    }


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    try:
        value = int(text)
    except ValueError:
        raise invalid("limit", f"expected an integer, but got '{text}' instead.", "invalid_type") from None
    if value < 1:
        raise invalid(
            "limit",
            f"integer below minimum value. Expected a value >= 1, but got {value} instead.",
            "integer_below_min_value",
        )
    if value > MAX_LIMIT:
        raise invalid(
            "limit",
            f"integer above maximum value. Expected a value <= {MAX_LIMIT}, but got {value} instead.",
            "integer_above_max_value",
        )
    return value
