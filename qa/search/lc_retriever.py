"""The hybrid retriever as a LangChain retriever, in its own module so that answering never
imports LangChain's retriever classes (`qa.search.retrieval.NewsRetriever` loads it on first
use)."""

from __future__ import annotations

from datetime import date

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from qa.search.dates import DateFilter
from qa.search.retrieval import Mode, Retriever


class NewsRetriever(BaseRetriever):
    """The hybrid retriever as a LangChain retriever: `Document`s carrying the chunk metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever
    top_k: int = 5
    date_from: date | None = None
    date_to: date | None = None
    as_of: date | None = None
    mode: Mode = "hybrid"

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        dates = DateFilter(self.date_from, self.date_to, as_of=self.as_of)
        return [p.to_document() for p in self.retriever.search(query, self.top_k, dates, self.mode)]
