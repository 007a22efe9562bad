"""The <think> splitter gives the same answer and reasoning however the reply is chunked."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from core.chat.thinking import ThinkSplitter, template_opens_thinking
from core.chat.types import ContentDelta, ContentWasThinking, ThinkingDelta


class Screen:
    """What a chat view would show: the events applied the way the UI applies them."""

    def __init__(self) -> None:
        self.thinking = ""
        self.answer = ""
        self.moves = 0

    def apply(self, events: Iterable[object]) -> None:
        for ev in events:
            if isinstance(ev, ContentDelta):
                assert ev.text, "empty deltas are noise for the UI"
                self.answer += ev.text
            elif isinstance(ev, ThinkingDelta):
                assert ev.text
                self.thinking += ev.text
            elif isinstance(ev, ContentWasThinking):
                assert ev.text.startswith(self.answer), "the move covers everything shown as answer"
                self.thinking += ev.text
                self.answer = ""
                self.moves += 1
            else:  # pragma: no cover - the splitter only makes the three kinds
                raise AssertionError(ev)


def run(chunks: Iterable[str], *, starts_inside: bool = False) -> Screen:
    splitter = ThinkSplitter(starts_inside=starts_inside)
    screen = Screen()
    for chunk in chunks:
        screen.apply(splitter.feed(chunk))
    screen.apply(splitter.flush())
    return screen


# (reply text, starts_inside, expected reasoning, expected answer, reasoning found late)
CASES = [
    ("<think>\nreason\n</think>\n\nanswer", False, "reason\n", "answer", False),
    ("plain answer", False, "", "plain answer", False),
    ("reason</think>answer", False, "reason", "answer", True),
    ("reason</think>answer", True, "reason", "answer", False),
    ("<think>\nr</think>\n\na", True, "r", "a", False),
    ("<think></think>\n\nanswer", False, "", "answer", False),
    ("  \n<think>r</think>a", False, "r", "a", False),
    ("Use <think> tags like <think>x</think>", False, "", "Use <think> tags like <think>x</think>", False),
    ("<thinking about it>", False, "", "<thinking about it>", False),
    ("cut off at </thin", False, "", "cut off at </thin", False),
    ("<think>unfinished reasoning", False, "unfinished reasoning", "", False),
    ("<think>a</think>b</think>c", False, "a", "b</think>c", False),
    ("<think>\n嗯，用户问的是模型。\n</think>\n\n你好！😀", False,
     "嗯，用户问的是模型。\n", "你好！😀", False),
    ("", False, "", "", False),
    ("\n\n", False, "", "\n\n", False),
    ("</think>answer", False, "", "answer", False),
    ("<thi", False, "", "<thi", False),
    ("<think>x</thi", False, "x</thi", "", False),
    ("<b>bold</b> then </think>", False, "<b>bold</b> then ", "", True),
]


@pytest.mark.parametrize(("text", "inside", "thinking", "answer", "late"), CASES)
def test_whole_reply(text: str, inside: bool, thinking: str, answer: str, late: bool) -> None:
    screen = run([text], starts_inside=inside)
    assert (screen.thinking, screen.answer, screen.moves) == (thinking, answer, int(late))


@pytest.mark.parametrize(("text", "inside", "thinking", "answer", "late"), CASES)
def test_every_split_point(text: str, inside: bool, thinking: str, answer: str, late: bool) -> None:
    for i in range(len(text) + 1):
        screen = run([text[:i], text[i:]], starts_inside=inside)
        where = f"split at {i}: {text[:i]!r}|{text[i:]!r}"
        assert (screen.thinking, screen.answer) == (thinking, answer), where
        assert screen.moves == int(late)


@pytest.mark.parametrize(("text", "inside", "thinking", "answer", "late"), CASES)
def test_one_character_at_a_time(text: str, inside: bool, thinking: str, answer: str, late: bool) -> None:
    screen = run(list(text), starts_inside=inside)
    assert (screen.thinking, screen.answer, screen.moves) == (thinking, answer, int(late))


def test_every_pair_of_split_points_around_the_tags() -> None:
    text = "<think>ab</think>cd"
    for i in range(len(text) + 1):
        for j in range(i, len(text) + 1):
            screen = run([text[:i], text[i:j], text[j:]])
            assert (screen.thinking, screen.answer) == ("ab", "cd"), (i, j)


def test_reasoning_streams_before_the_closing_tag_arrives() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("<think>step one, ") == [ThinkingDelta("step one, ")]
    assert splitter.feed("step two</") == [ThinkingDelta("step two")]  # "</" is held back
    assert splitter.feed("think>Answer") == [ContentDelta("Answer")]
    assert splitter.flush() == []


def test_server_side_reasoning_turns_off_the_lone_closing_tag() -> None:
    splitter = ThinkSplitter()
    splitter.native_thinking_seen()
    assert splitter.feed("The tag </think> closes reasoning.") == [
        ContentDelta("The tag </think> closes reasoning.")
    ]


def test_lone_closing_tag_moves_exactly_what_was_shown() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("Okay, the user") == [ContentDelta("Okay, the user")]
    assert splitter.feed(" wants X.</think>\n\nX.") == [
        ContentWasThinking("Okay, the user wants X."),
        ContentDelta("X."),
    ]


@pytest.mark.parametrize(
    ("template", "opens"),
    [
        # DeepSeek-R1 distill (Jinja, as in GGUF tokenizer.chat_template)
        ("{% if add_generation_prompt %}{{'<｜Assistant｜><think>\\n'}}{% endif %}", True),
        ("{% if add_generation_prompt %}<｜Assistant｜><think>\n{% endif %}", True),
        ("{%- if add_generation_prompt %}\n<|im_start|>assistant\n<think>\n{%- endif %}\n", True),
        # Ollama Go template
        ("{{- if .AddGenerationPrompt }}<｜Assistant｜><think>\n{{- end }}", True),
        ("<|im_start|>assistant\n{{ .Response }}<|im_end|>", False),
        ("{% if x %}<think>{% endif %}</think>{{ content }}", False),
        ("", False),
        (None, False),
    ],
)
def test_template_opens_thinking(template: str | None, opens: bool) -> None:
    assert template_opens_thinking(template) is opens
