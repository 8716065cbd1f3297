"""The offline provider's answers for the decision job types (no LLM key).

Each builder takes the prompt a handler would send and makes a deterministic
answer of the same JSON shape from the material the prompt carries
(`common.material_of`), so the product works end to end without a provider.
"""

from __future__ import annotations

from typing import Any

from competitors.handlers import common

# --- competitor_analysis ---------------------------------------------------


def offline_profile(prompt: str) -> dict[str, Any]:
    """A profile made from the material alone (the offline provider's answer)."""
    material = common.material_of(prompt)
    company = material.get("company", {})
    site = material.get("website", {})
    news = material.get("news", [])
    reviews = material.get("reviews", [])
    decision = material.get("decision", {})
    name = company.get("name", "The company")
    headings = [h for h in site.get("headings", []) if h]
    text = site.get("text", "")
    description = site.get("description") or " ".join(common.sentences(text, 1))
    lines = common.sentences(text, 80)
    pricing = next((s for s in lines if "$" in s or "€" in s or "£" in s), None) or next(
        (s for s in lines if "pric" in s.lower() and len(s) > 20), "unknown")
    good = [r for r in reviews if (r.get("rating") or 0) >= 4 or common.stance(
        f"{r.get('title')} {r.get('snippet')}") == "supports"]
    bad = [r for r in reviews if r not in good]
    strengths = [h for h in headings[:3]] + [r.get("snippet") or r["title"] for r in good[:2]]
    weaknesses = [r.get("snippet") or r["title"] for r in bad[:3]]
    if not weaknesses:
        weaknesses = ["No critical reviews found"] if reviews else ["No public reviews found"]
    shared = common.overlap(f"{decision.get('title', '')} {decision.get('context', '')}",
                            f"{site.get('title', '')} {description} {text}")
    threat = "high" if shared >= 0.3 else "medium" if shared >= 0.1 else "low"
    news_line = f" Recent news: {news[0]['title']}." if news else ""
    return {
        "summary": f"{name}: {(description or site.get('title') or 'no description').rstrip('.')}."
        f"{news_line}",
        "positioning": site.get("title") or f"{name} (positioning unknown)",
        "target_customers": "unknown",
        "pricing": pricing,
        "products": headings[:5],
        "strengths": strengths or ["unknown"],
        "weaknesses": weaknesses,
        "threat_level": threat,
        "implications": (
            f"{name} overlaps {int(shared * 100)}% with the terms of the decision "
            f"'{decision.get('title', '')}'."
        ),
    }


# --- market_research -------------------------------------------------------


def offline_research(prompt: str) -> dict[str, Any]:
    material = common.material_of(prompt)
    query = material.get("query", "")
    findings = material.get("findings", [])
    decision = material.get("decision", {})
    max_items = int(material.get("max_items", 5))
    items = [
        {
            "title": f["title"],
            "summary": f.get("snippet") or f["title"],
            "stance": common.stance(f"{f['title']} {f.get('snippet', '')}"),
            "relevance": common.overlap(query, f"{f['title']} {f.get('snippet', '')}"),
            "source_title": f.get("source", ""),
            "source_url": f.get("url", ""),
        }
        for f in findings
    ]
    if not items:
        # No sources: what the decision's own context says, labelled as such.
        items = [
            {
                "title": sentence[:120],
                "summary": sentence,
                "stance": common.stance(sentence),
                "relevance": common.overlap(query, sentence),
                "source_title": "Decision context",
                "source_url": "",
            }
            for sentence in common.sentences(decision.get("context", ""), max_items)
        ]
    trends = [f["title"] for f in findings[:3]] or [
        f"Options under consideration: {', '.join(decision.get('options', [])) or 'none yet'}"
    ]
    return {
        "summary": (
            f"Market for {query}: {len(findings)} finding(s) from the configured sources."
            if findings else f"Market for {query}: no sources configured; "
            "evidence drawn from the decision's context."
        ),
        "market_size": "unknown",
        "trends": trends,
        "evidence": items[:max_items],
    }


# --- brief_generation ------------------------------------------------------


def offline_brief(prompt: str) -> dict[str, Any]:
    material = common.material_of(prompt)
    decision = material.get("decision", {})
    options = material.get("options", [])
    competitors = material.get("competitors", [])
    evidence = material.get("evidence", [])
    scored = [
        (o["analysis"].get("score", 0) if isinstance(o.get("analysis"), dict) else 0, o["title"])
        for o in options
    ]
    best = max(scored, default=(0, ""))[1]
    sections = [
        {
            "heading": "Options",
            "body": "\n".join(
                f"- {o['title']}: "
                + (o["analysis"].get("summary", "") if isinstance(o.get("analysis"), dict)
                   else "not analysed yet")
                for o in options
            ) or "No options recorded yet.",
        },
        {
            "heading": "Competitors",
            "body": "\n".join(
                f"- {c['name']} (threat {c['threat_level']}): {c['summary']}" for c in competitors
            ) or "No competitor profiles yet.",
        },
        {
            "heading": "Evidence",
            "body": "\n".join(f"- [{e['stance']}] {e['title']}" for e in evidence[:8])
            or "No evidence gathered yet.",
        },
    ]
    supports = sum(1 for e in evidence if e.get("stance") == "supports")
    opposes = sum(1 for e in evidence if e.get("stance") == "opposes")
    return {
        "title": f"Brief: {decision.get('title', 'decision')}",
        "summary": " ".join(common.sentences(decision.get("context", ""), 2))
        or "No context recorded.",
        "sections": sections,
        "recommendation": (
            f"Lean towards {best or 'gathering more evidence'}: {supports} piece(s) of evidence "
            f"support the decision, {opposes} oppose it."
        ),
    }


# --- evidence_search -------------------------------------------------------


def offline_assessment(prompt: str) -> dict[str, Any]:
    material = common.material_of(prompt)
    query = material.get("query", "")
    limit = int(material.get("limit", 5))
    judged = []
    for candidate in material.get("candidates", []):
        text = f"{candidate.get('title', '')} {candidate.get('snippet', '')}"
        relevance = common.overlap(query, text)
        if relevance > 0:
            judged.append({
                "candidate": candidate["index"],
                "summary": candidate.get("snippet") or candidate.get("title", ""),
                "stance": common.stance(text),
                "relevance": relevance,
            })
    judged.sort(key=lambda j: (-j["relevance"], j["candidate"]))
    return {"items": judged[:limit]}


# --- option_analysis -------------------------------------------------------


def offline_analysis(prompt: str) -> dict[str, Any]:
    material = common.material_of(prompt)
    option = material.get("option", {})
    decision = material.get("decision", {})
    text = f"{option.get('title', '')} {option.get('description', '')}"
    fit = common.overlap(f"{decision.get('title', '')} {decision.get('context', '')}", text)
    competitors = material.get("competitors", [])
    score = max(0, min(10, round(3 + fit * 10)))
    lean = common.stance(text)
    pros = [f"Matches the decision's terms ({int(fit * 100)}% overlap)"] if fit else []
    if lean == "supports":
        pros.append("Its description points to growth or ease of use")
    cons = [f"{len(competitors)} competitor(s) already profiled in this space"] if competitors \
        else ["No competitor data gathered yet"]
    if lean == "opposes":
        cons.append("Its description mentions risks or costs")
    return {
        "summary": f"{option.get('title', 'This option')}: "
        f"{' '.join(common.sentences(option.get('description', ''), 1)) or 'no description'}",
        "pros": pros or ["No clear advantage in the material"],
        "cons": cons,
        "risks": [f"Alternatives: {', '.join(material.get('other_options', [])) or 'none'}"],
        "score": score,
        "recommendation": "pursue" if score >= 7 else "consider" if score >= 4 else "avoid",
    }
