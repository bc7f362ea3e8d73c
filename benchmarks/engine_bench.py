"""
Time one ELIZA engine on one workload, in a process of its own.

usage: python -m benchmarks.engine_bench ENGINE WORKLOAD SECONDS
  ENGINE    netlab (netlab.doctor.Doctor) or nltk (nltk.chat.eliza)
  WORKLOAD  conversation (a long session cycling ordinary lines) or hostile-1k /
            hostile-4k (deterministic adversarial lines of exactly 1 KiB / 4 KiB)
Prints one JSON line: replies, CPU seconds, wall seconds and input characters.
Each engine answers the same inputs in the same order; a few warm-up replies are
not counted. The harness runs engines alternately and keeps the median.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable

CONVERSATION = [
    "Men are all alike.",
    "They're always bugging us about something or other.",
    "Well, my boyfriend made me come here.",
    "He says I'm depressed much of the time.",
    "It's true. I am unhappy.",
    "I need some help, that much seems certain.",
    "Perhaps I could learn to get along with my mother.",
    "My mother takes care of me.",
    "My father.",
    "You are like my father in some ways.",
    "You are not very aggressive but I think you don't want me to notice that.",
    "You don't argue with me.",
    "You are afraid of me.",
    "My father is afraid of everybody.",
    "Bullies.",
    "Does that have anything to do with the fact that your boyfriend made you come here?",
    "I remember the summer I spent at the lake with my family.",
    "Do you think computers can understand people?",
    "Everybody laughs at me because I always forget things.",
    "I dreamed that I was flying over a city of glass.",
    "Can you really help me, or are you just a program?",
    "I am sorry, I was not listening.",
    "Why do you always answer a question with another question?",
    "Yes, I suppose I want to be happy.",
    "No, I don't think so.",
    "I feel that nobody cares what my name is.",
    "Maybe you are right, I was like this as a child.",
    "Certainly not!",
    "I wish I could remember what my dream meant.",
    "Hello?",
]

VOCABULARY = (
    "i am you are my your mother father mom dad sister brother wife husband child "
    "dream dreams remember forget computer machine sorry always never everybody nobody "
    "alike because why yes no perhaps maybe can cannot what who when where how name "
    "feel think believe want need like hate love sad happy depressed unhappy was were "
    "if certainly hello hi apologize friend friends family deutsch francais italiano"
).split()


def _fill(pattern: str, size: int) -> str:
    return (pattern * (size // len(pattern) + 1))[:size]


def hostileLines(size: int, count: int = 12) -> list[str]:
    """
    Deterministic adversarial lines of exactly C{size} characters.

    @param size: the length of every line.
    @param count: how many lines.
    @return: the lines, the same ones on every call.
    """
    rng = random.Random(1966)
    lines = []
    while len(lines) < count:
        words = []
        while sum(len(w) + 1 for w in words) < size:
            w = rng.choice(VOCABULARY)
            words.append(w + rng.choice(["", "", "", ",", ".", "?", "!"]))
        lines.append(" ".join(words)[:size])
        lines.append(_fill("my mother my father i remember you are i am ", size))
        lines.append("a" * size)
        lines.append(_fill("i am, you are. my dream? ", size))
        lines.append(_fill("you you you you you i i i i ", size))
        lines.append(_fill("É漢字 ñ ü ж — ", size))
        lines.append(_fill(", . , . ? ! ", size))
    return lines[:count]


def workload(name: str) -> list[str]:
    """
    The input lines for a workload name.

    @param name: C{conversation}, C{hostile-1k} or C{hostile-4k}.
    @return: the lines to answer, in order.
    @raise SystemExit: for an unknown workload.
    """
    if name == "conversation":
        return CONVERSATION
    if name.startswith("hostile-"):
        return hostileLines({"1k": 1024, "4k": 4096}[name.split("-", 1)[1]])
    raise SystemExit(f"unknown workload {name}")


def engine(name: str) -> Callable[[str], str]:
    """
    A reply function for the engine name; one session for the whole run.

    @param name: C{netlab} (L{netlab.doctor.Doctor}) or C{nltk} (C{nltk.chat.eliza}).
    @return: a function from one input line to the engine's reply.
    @raise SystemExit: for an unknown engine.
    """
    if name == "netlab":
        from netlab.doctor import Doctor

        doctor = Doctor()
        doctor.greeting()
        return doctor.reply
    if name == "nltk":
        from nltk.chat.eliza import eliza_chatbot

        return lambda text: eliza_chatbot.respond(text) or ""
    raise SystemExit(f"unknown engine {name}")


def measure(reply: Callable[[str], str], lines: list[str], seconds: float) -> dict:
    """
    Reply to C{lines} in a cycle until C{seconds} of CPU time have passed.

    The first three lines are answered once beforehand as a warm-up, not counted.

    @param reply: the engine, from L{engine}.
    @param lines: the workload, from L{workload}.
    @param seconds: CPU seconds to spend.
    @return: C{replies}, C{cpu_s}, C{wall_s} and C{chars} (input characters).
    """
    for line in lines[:3]:
        reply(line)
    n = chars = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while True:
        line = lines[n % len(lines)]
        reply(line)
        n += 1
        chars += len(line)
        if n >= 5 and time.process_time() - cpu0 >= seconds:
            break
    return {"replies": n, "cpu_s": time.process_time() - cpu0,
            "wall_s": time.perf_counter() - wall0, "chars": chars}


def main(argv: list[str]) -> int:
    """
    Run one measurement and print it as JSON.

    @param argv: ENGINE, WORKLOAD and SECONDS.
    @return: the exit status, 0.
    """
    eng, wl, seconds = argv[0], argv[1], float(argv[2])
    result = measure(engine(eng), workload(wl), seconds)
    result.update(engine=eng, workload=wl)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
