"""competitor_analysis: the seed's five steps, with its progress and messages.

scrape the website (10% "Scraping website...", 20%), search for news (30%
"Searching for news...", 40%), gather reviews (50% "Gathering reviews...", 60%),
generate the profile (70% "Analyzing data...", 90%), save (100%: the profile
commits with the job's completion). Each step is durable: a retry resumes after
the last one that finished, so a site is never scraped twice for one job.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from rest_framework import serializers

from competitors import scraper, services, sources
from competitors.handlers import common
from competitors.offline import offline_profile
from jobs import aio
from jobs.aruntime import AsyncJobContext

SYSTEM = (
    "You are a competitive-intelligence analyst. From the material given (a company's "
    "website, recent news, customer reviews, and the decision a team is making), write a "
    "factual competitor profile. Use only the material; say 'unknown' where it is silent."
)
INSTRUCTION = (
    "Write the competitor profile of {name} as JSON with: summary, positioning, "
    "target_customers, pricing, products (list), strengths (list), weaknesses (list), "
    "threat_level (low, medium or high) and implications (what it means for the decision)."
)
SCHEMA = {
    "type": "object",
    "required": ["summary", "strengths", "weaknesses", "threat_level"],
    "properties": {
        "summary": {"type": "string"},
        "positioning": {"type": "string"},
        "target_customers": {"type": "string"},
        "pricing": {"type": "string"},
        "products": {"type": "array", "items": {"type": "string"}},
        "strengths": {"type": "array", "items": {"type": "string"}},
        "weaknesses": {"type": "array", "items": {"type": "string"}},
        "threat_level": {"type": "string", "enum": ["low", "medium", "high"]},
        "implications": {"type": "string"},
    },
}


class CompetitorAnalysisInput(serializers.Serializer):
    company_name = serializers.CharField(max_length=200)
    company_url = serializers.URLField(max_length=500)

    def validate_company_url(self, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https"):
            raise serializers.ValidationError("Must be an http:// or https:// address.")
        if parts.username or parts.password:
            raise serializers.ValidationError("Must not carry a user name or password.")
        return value


async def run(ctx: AsyncJobContext) -> dict[str, Any]:
    decision = await aio.db(common.load_decision, ctx)
    decision_material = await aio.db(common.decision_material, decision)
    name = ctx.input["company_name"]
    url = ctx.input["company_url"]

    await ctx.progress(10, "Scraping website...")
    website = await ctx.step("scrape-website", lambda: asyncio.to_thread(scraper.scrape, url))
    await ctx.progress(20)

    await ctx.progress(30, "Searching for news...")
    news = await ctx.step(
        "search-news", lambda: asyncio.to_thread(sources.search_all, "news", f"{name} news"))
    await ctx.progress(40)

    await ctx.progress(50, "Gathering reviews...")
    reviews = await ctx.step(
        "get-reviews", lambda: asyncio.to_thread(sources.search_all, "reviews", name))
    await ctx.progress(60)

    await ctx.progress(70, "Analyzing data...")
    answer = await common.aask(
        ctx,
        step="generate-profile",
        instruction=INSTRUCTION.format(name=name),
        material={
            "company": {"name": name, "url": url},
            "website": {k: website.get(k) for k in ("title", "description", "headings", "text",
                                                   "error") if website.get(k)},
            "news": news["findings"],
            "reviews": reviews["findings"],
            "decision": decision_material,
        },
        system=SYSTEM,
        schema=SCHEMA,
        purpose="competitor-profile",
        offline=offline_profile,
    )
    await ctx.progress(90)

    profile_id = common.row_id(ctx.job_id, "competitor-profile")
    decision_id = decision.id
    job_id = ctx.job_id
    ctx.on_complete(
        lambda: services.competitor_profile_save(
            profile_id=profile_id,
            decision_id=decision_id,
            job_id=job_id,
            company_name=name,
            company_url=url,
            profile=answer["data"],
            website=website,
            news=news["findings"],
            reviews=reviews["findings"],
            provider=answer["provider"],
            model=answer["model"],
            offline=answer["offline"],
        )
    )
    return {
        "competitor_profile_id": str(profile_id),
        "decision_id": str(decision_id),
        "company_name": name,
        "company_url": url,
        "threat_level": answer["data"].get("threat_level"),
        "news_found": len(news["findings"]),
        "reviews_found": len(reviews["findings"]),
        "notes": [news["note"], reviews["note"], *news["errors"], *reviews["errors"]],
        "offline": answer["offline"],
    }
