"""Dynamic batching: requests that are waiting together share one encode and forward pass.

No request waits for company. The first request to arrive schedules one scoring step on the
event loop; every request that reaches the model before that step runs (those whose bytes came
in with it) joins it. Under load that is many requests per forward pass; alone, it is one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from ..model.encoding import EncodedFeatures
from .predictor import ModelOverloadedError, Predictor, Scored


@dataclass(frozen=True)
class ScoredRows:
    """One request's share of a batch: its encoded rows and what the model made of them."""

    features: EncodedFeatures
    scored: Scored


@dataclass
class _Waiting:
    rows: Sequence[object]
    answer: asyncio.Future[ScoredRows]


class BatchScorer:
    """Scores each request's rows together with the rows of the requests waiting beside it."""

    def __init__(self, predictor: Predictor, max_batch_rows: int) -> None:
        self.predictor = predictor
        self.max_batch_rows = max_batch_rows
        self.batches_scored = 0
        self._waiting: list[_Waiting] = []

    async def score(self, rows: Sequence[object]) -> ScoredRows:
        loop = asyncio.get_running_loop()
        waiting = _Waiting(rows, loop.create_future())
        self._waiting.append(waiting)
        if len(self._waiting) == 1:
            loop.call_soon(self._score_waiting)
        return await waiting.answer

    def _score_waiting(self) -> None:
        waiting, self._waiting = self._waiting, []
        for batch in self._batches(waiting):
            self._answer(batch)

    def _answer(self, batch: list[_Waiting]) -> None:
        try:
            answers = self._score(batch)
        except ModelOverloadedError:
            if len(batch) > 1:  # out of memory together: alone, only the largest may fail
                for request in batch:
                    self._answer([request])
                return
            _fail(batch, ModelOverloadedError("the accelerator is out of memory"))
            return
        except Exception as error:  # every request of the batch answers it, as if alone
            _fail(batch, error)
            return
        for request, answer in zip(batch, answers, strict=True):
            if not request.answer.done():  # a request whose client left is cancelled
                request.answer.set_result(answer)

    def _batches(self, waiting: list[_Waiting]) -> list[list[_Waiting]]:
        """Consecutive groups of at most max_batch_rows rows (a larger request goes alone)."""
        batches: list[list[_Waiting]] = []
        rows = 0
        for request in waiting:
            if not batches or rows + len(request.rows) > self.max_batch_rows:
                batches.append([])
                rows = 0
            batches[-1].append(request)
            rows += len(request.rows)
        return batches

    def _score(self, batch: list[_Waiting]) -> list[ScoredRows]:
        all_rows = [row for request in batch for row in request.rows]
        features = self.predictor.encode(all_rows)
        scored = self.predictor.score(features)
        self.batches_scored += 1
        answers, start = [], 0
        for request in batch:
            end = start + len(request.rows)
            part = slice(start, end)
            answers.append(
                ScoredRows(
                    EncodedFeatures(features.numeric[part], features.categorical[part]),
                    scored.rows(part),
                )
            )
            start = end
        return answers


def _fail(batch: list[_Waiting], error: Exception) -> None:
    for request in batch:
        if not request.answer.done():
            request.answer.set_exception(error)
