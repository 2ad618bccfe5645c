"""`modelbay kb …`: knowledge bases for the assistant — create, add documents, list, show, remove, search, ask,
calibrate the handoff threshold."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .cli_common import console, fail, new_table, print_json

kb_app = typer.Typer(help="Knowledge bases for the assistant: documents in, cited answers out.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]
NameArg = Annotated[str, typer.Argument(help="knowledge base name, e.g. support")]


def _errors():
    from .core.errors import ModelbayError

    return ModelbayError


@kb_app.command("create")
def create(name: NameArg,
           chunk_chars: Annotated[int, typer.Option(help="largest chunk, in characters")] = 600,
           overlap_chars: Annotated[int, typer.Option(help="characters shared by neighbouring chunks")] = 100,
           bm25_only: Annotated[bool, typer.Option("--bm25-only", help="no dense index (no embedding model)")] = False,
           threshold: Annotated[float, typer.Option(help="retrieval confidence (dense cosine) below which the "
                                                         "assistant hands off")] = 0.85,
           exist_ok: Annotated[bool, typer.Option("--exist-ok", help="no error if it exists")] = False) -> None:
    """Create an empty knowledge base."""
    from .kb import DEFAULT_EMBEDDING_MODEL, KnowledgeBase

    try:
        kb = KnowledgeBase.create(name, embedding_model=None if bm25_only else DEFAULT_EMBEDDING_MODEL,
                                  chunk_max_chars=chunk_chars, chunk_overlap_chars=overlap_chars,
                                  confidence_threshold=threshold, exist_ok=exist_ok)
    except _errors() as exc:
        fail(exc)
    console.print(f"created knowledge base {name!r} in {kb.folder}\nadd documents:  modelbay kb add {name} docs/ faq.csv")


@kb_app.command("add")
def add(name: NameArg,
        paths: Annotated[list[Path], typer.Argument(help="files or folders: .md .txt .html .pdf .docx, FAQ .csv/.jsonl")],
        as_json: JsonOption = False) -> None:
    """Ingest documents (folders recursively); a changed file replaces its chunks, an unchanged one is skipped."""
    from .kb.shared import shared_knowledge_base

    try:
        report = shared_knowledge_base(name).add(paths, progress=sys.stderr.isatty())
    except _errors() as exc:
        fail(exc)
    if as_json:
        return print_json(report.model_dump())
    console.print(f"{len(report.added)} added, {len(report.replaced)} replaced, {len(report.unchanged)} unchanged, "
                  f"{len(report.skipped)} skipped; {report.chunks_added} chunks in {report.seconds:.1f} s")
    for path in report.skipped:
        console.print(f"  skipped (unsupported, empty or unreadable): {path}", highlight=False)


@kb_app.command("ls")
def ls(name: Annotated[str | None, typer.Argument(help="a knowledge base: list its documents")] = None,
       as_json: JsonOption = False) -> None:
    """List the knowledge bases, or the documents of one."""
    from .kb import list_knowledge_bases
    from .kb.shared import shared_knowledge_base

    try:
        rows = ([d.model_dump() for d in shared_knowledge_base(name).documents()] if name
                else [k.model_dump() for k in list_knowledge_bases()])
    except _errors() as exc:
        fail(exc)
    if as_json:
        return print_json(rows)
    if name:
        table = new_table("id", "source", "kind", "chunks", "bytes")
        for r in rows:
            table.add_row(str(r["id"]), r["source"], r["kind"], str(r["chunks"]), f"{r['size_bytes']:,}")
    else:
        table = new_table("name", "documents", "chunks", "embedding model", "hands off below", "size")
        for r in rows:
            table.add_row(r["name"], str(r["documents"]), str(r["chunks"]), r["embedding_model"] or "(BM25 only)",
                          f"{r['confidence_threshold']:.3f}" if r["embedding_model"] else "-",
                          f"{r['size_bytes'] / 1e6:.1f} MB")
    console.print(table)


@kb_app.command("show")
def show(name: NameArg, document: Annotated[str, typer.Argument(help="document id or source path")],
         as_json: JsonOption = False) -> None:
    """Show a document's chunks (section, page, text)."""
    from rich.markup import escape

    from .kb.shared import shared_knowledge_base

    try:
        chunks = shared_knowledge_base(name).chunks(document)
    except _errors() as exc:
        fail(exc)
    if as_json:
        return print_json([c.model_dump() for c in chunks])
    for c in chunks:
        where = " › ".join(x for x in (c.section, f"p. {c.page}" if c.page else None) if x)
        console.print(f"[bold]#{c.position}[/] {escape(where)}\n{escape(c.text)}\n", highlight=False)


@kb_app.command("rm")
def rm(name: NameArg,
       documents: Annotated[list[str] | None, typer.Argument(help="document ids or source paths")] = None,
       delete_all: Annotated[bool, typer.Option("--all", help="delete the whole knowledge base")] = False) -> None:
    """Remove documents, or (--all) the whole knowledge base. Source files are never touched."""
    from .kb import delete_knowledge_base
    from .kb.shared import forget, shared_knowledge_base

    if bool(documents) == delete_all:
        fail(typer.BadParameter("name documents to remove, or --all for the whole knowledge base"))
    try:
        if delete_all:
            delete_knowledge_base(name)
            forget(name)
            return console.print(f"deleted knowledge base {name!r}")
        kb = shared_knowledge_base(name)
        for ref in documents:
            console.print(f"removed {kb.remove(ref).source}", highlight=False)
    except _errors() as exc:
        fail(exc)


@kb_app.command("search")
def search(name: NameArg, query: Annotated[str, typer.Argument(help="what to look for")],
           k: Annotated[int, typer.Option("-k", help="how many passages")] = 5,
           mode: Annotated[str, typer.Option(help="hybrid, bm25 or dense")] = "hybrid",
           rerank: Annotated[str | None, typer.Option(help="rerank the top candidates with this catalog reranker "
                                                     "(task rerank in `modelbay models`)")] = None,
           as_json: JsonOption = False) -> None:
    """Search without generating: the best passages with their scores."""
    from rich.markup import escape

    from .kb.shared import shared_knowledge_base

    try:
        result = shared_knowledge_base(name).search(query, k=k, mode=mode, rerank=rerank)
    except _errors() as exc:
        fail(exc)
    if as_json:
        return print_json(result.model_dump())
    sure = "confident" if result.confident else "NOT confident (the assistant would hand off)"
    console.print(f"confidence {result.confidence if result.confidence is not None else '-'}: {sure}")
    for rank, h in enumerate(result.hits, start=1):
        where = " › ".join(x for x in (Path(h.source).name, h.section, f"p. {h.page}" if h.page else None) if x)
        reranked = f", rerank {h.rerank_score:.4f}" if h.rerank_score is not None else ""
        console.print(f"[bold]{rank}. {escape(where)}[/] (score {h.score:.4f}{reranked})\n   {escape(h.text[:300])}",
                      highlight=False)


@kb_app.command("calibrate")
def calibrate(name: NameArg,
              data: Annotated[Path, typer.Option("--data", help="questions with an answer column, as for `modelbay eval "
                                                 "assistant`; an empty answer marks one the documents do not answer")],
              k: Annotated[int, typer.Option("-k", help="passages searched per question, as the assistant's top_k")] = 3,
              min_answered: Annotated[float | None, typer.Option(help="answer at least this share (0-1) of the "
                                                                 "answerable questions; default: best balanced accuracy")] = None,
              dry_run: Annotated[bool, typer.Option("--dry-run", help="report only; keep the stored threshold")] = False,
              as_json: JsonOption = False) -> None:
    """Choose the handoff threshold from your own questions, marked answerable or not, and store it."""
    from .kb.confidence import read_labelled_questions
    from .kb.shared import shared_knowledge_base

    try:
        report = shared_knowledge_base(name).calibrate(read_labelled_questions(data), k=k, apply=not dry_run,
                                                       min_answered=min_answered, progress=sys.stderr.isatty())
    except _errors() as exc:
        fail(exc)
    if as_json:
        return print_json(report.model_dump())
    table = new_table("", "threshold", "answerable: answered", "unanswerable: handed off", "balanced accuracy")
    for label, r in (("before", report.before), ("chosen", report.after)):
        table.add_row(label, f"{r.threshold:.3f}", f"{r.answered:.1%}", f"{r.handed_off:.1%}", f"{r.balanced_accuracy:.3f}")
    console.print(table)
    console.print(f"{report.answerable} answerable and {report.unanswerable} unanswerable questions; the chosen row is "
                  "measured on the same questions, so judge it on others (`modelbay eval assistant`).")
    console.print(f"stored in {name!r}" if report.applied else "not stored (--dry-run)")


@kb_app.command("ask")
def ask(name: NameArg, question: Annotated[str, typer.Argument(help="the customer's question")],
        conversation: Annotated[str | None, typer.Option("--conversation", "-c", help="continue this conversation")] = None,
        generate: Annotated[bool, typer.Option("--generate/--extractive", help="LLM answer, or the passages' own sentences")] = True,
        as_json: JsonOption = False) -> None:
    """Ask the assistant: the answer streams, then its sources (the same as `modelbay run assistant`; `demo` is an example)."""
    from .api import Pipeline

    try:
        pipe = Pipeline("assistant")
        item = pipe.coerce([{"kb": name, "question": question, "conversation_id": conversation,
                             "generate": generate}])[0]
        pipe.load()
        output = None
        for piece, output in pipe.task.generate(item):
            if not as_json:
                sys.stdout.write(piece)
                sys.stdout.flush()
    except _errors() as exc:
        fail(exc)
    if as_json:
        return print_json(output.model_dump(mode="json"))
    sys.stdout.write("\n")
    for s in output.sources:
        if s.cited:
            console.print(f"  [{s.number}] {s.document}" + (f" › {s.section}" if s.section else ""), highlight=False)
    console.print(f"  ({output.mode}; conversation {output.conversation_id})", style="dim", highlight=False)
