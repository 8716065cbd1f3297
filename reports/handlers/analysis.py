"""The handler of the report builder's job types: GENERATE, REFINE and ANALYZE a
block with Claude (registered in reports/jobtypes.py).

One async handler serves the three types (`report_generate`,
`report_refine`, `report_analyze`). It loads the document and block by id,
gathers the document's configured context, asks the model (the durable step
"generate": a retry after a later failure does not pay for the call twice),
streaming its answer into the job's `partial_output` as it is written (the
editor shows the text growing), and hands the block's new content and its
revision to `on_complete`, so they commit in the transaction that marks the
job completed, or not at all. It holds no thread and no database connection
while the model writes (jobs/aruntime.py).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from jobs import aio
from jobs.ai import llm
from jobs.aruntime import AsyncJobContext
from jobs.errors import ParseError, PermanentJobError
from reports import services
from reports.models import AnalysisJob, Block, ContextItem, Document
from reports.offline import offline_text

SYSTEM = (
    "You write sections of a product report. Use only the context given; "
    "be concrete and brief. Answer with the section's text only."
)
ANALYZE_SYSTEM = (
    "You analyse the material of a product report. Use only the context given; "
    "name patterns, gaps and risks, briefly. Answer with the analysis only."
)


class AnalysisInput(serializers.Serializer):
    document_id = serializers.UUIDField()
    block_id = serializers.UUIDField(allow_null=True, required=False, default=None)
    type = serializers.ChoiceField(choices=AnalysisJob.Type.values)
    prompt = serializers.CharField(allow_blank=True, required=False, default="")


def provider_for_reports() -> str | None:
    """The provider named by REPORTS_LLM_PROVIDER (None: the AI layer's own choice)."""
    choice = settings.REPORTS_LLM_PROVIDER
    if choice == "auto":
        return "anthropic" if settings.ANTHROPIC_API_KEY else None
    return choice


def gather_context(document: Document) -> dict[str, list[str]]:
    """The document's evidence, goals and reviews, as far as it is configured to use them."""
    kinds = []
    if document.use_evidence:
        kinds.append(ContextItem.Kind.EVIDENCE)
    if document.use_goals:
        kinds.append(ContextItem.Kind.GOAL)
    if document.use_reviews:
        kinds.append(ContextItem.Kind.REVIEW)
    context: dict[str, list[str]] = {kind: [] for kind in kinds}
    for item in document.context_items.filter(kind__in=kinds):
        context[item.kind].append(item.text)
    return context


def build_prompt(*, type: str, instruction: str, block: Block | None,
                 context: dict[str, list[str]], title: str) -> str:
    # The instruction is the prompt's last line: the offline builder relies on it.
    lines = [f"Report: {title}"]
    for kind, items in context.items():
        if items:
            lines.append(f"\n{kind.capitalize()}:")
            lines.extend(f"- {text}" for text in items)
    if type == AnalysisJob.Type.REFINE and block is not None:
        lines.append(f"\nCurrent text:\n{block.content}")
        lines.append(f"\nRefine it following this feedback: {instruction}")
    elif type == AnalysisJob.Type.ANALYZE:
        if block is not None and block.content:
            lines.append(f"\nSection text:\n{block.content}")
        lines.append(f"\nAnalyse the material above: {instruction}")
    else:
        lines.append(f"\nWrite the section for this prompt: {instruction}")
    return "\n".join(lines)


def _load(data: dict[str, Any]) -> tuple[Document, Block | None]:
    document = Document.objects.filter(id=data["document_id"]).first()
    if document is None:
        raise PermanentJobError("Document not found")
    if not data.get("block_id"):
        if data["type"] != AnalysisJob.Type.ANALYZE:
            raise PermanentJobError("Block not found")
        return document, None
    block = Block.objects.filter(id=data["block_id"], document=document).first()
    if block is None:
        raise PermanentJobError("Block not found")
    return document, block


def _prepare(data: dict[str, Any]) -> tuple[Block | None, str]:
    """The block (None for a document-wide ANALYZE) and the prompt (database reads)."""
    document, block = _load(data)
    instruction = data.get("prompt") or (block.prompt if block else "")
    prompt = build_prompt(type=data["type"], instruction=instruction, block=block,
                          context=gather_context(document), title=document.title)
    return block, prompt


def _block_exists(block_id: str) -> bool:
    return Block.objects.filter(id=block_id).exists()


async def run_analysis(ctx: AsyncJobContext) -> dict[str, Any]:
    data = ctx.input
    await ctx.progress(10, "Gathering context...")
    block, prompt = await aio.db(_prepare, data)
    partial = ctx.partial_writer()

    async def ask() -> dict[str, Any]:
        answer = await llm.acomplete(
            prompt=prompt,
            system=ANALYZE_SYSTEM if data["type"] == AnalysisJob.Type.ANALYZE else SYSTEM,
            purpose=f"report-{data['type'].lower()}",
            job=ctx.job,
            provider=provider_for_reports(),
            offline=offline_text,
            max_tokens=settings.REPORTS_MAX_TOKENS,
            on_text=partial,
        )
        if not answer.text.strip():
            # Not stored as the step's result: the platform retries a parse error once.
            raise ParseError("The model returned no text")
        return answer.__dict__

    await ctx.progress(30, "AI is working on your response...")
    answer = await ctx.step("generate", ask)
    await ctx.progress(90, "Saving...")  # also where a cancel requested meanwhile stops the job
    result: dict[str, Any] = {
        "content": answer["text"],
        "provider": answer["provider"],
        "model": answer["model"],
        "offline": answer["offline"],
        "tokens": answer["prompt_tokens"] + answer["completion_tokens"],
    }
    if data["type"] == AnalysisJob.Type.ANALYZE or block is None:
        return result
    block_id = str(block.id)
    # Deleted while the model was answering: fail as the seed says, write nothing.
    if not await aio.db(_block_exists, block_id):
        raise PermanentJobError("Block not found")
    ctx.on_complete(
        lambda: services.job_result_write(job=ctx.job, block_id=block_id, content=answer["text"])
    )
    result["blockId"] = block_id
    return result
