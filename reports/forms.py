"""The editor page's plain HTML forms (the API validates its own input)."""

from __future__ import annotations

from django import forms

from reports.models import Block, ContextItem


class DocumentForm(forms.Form):
    title = forms.CharField(max_length=200)
    use_evidence = forms.BooleanField(required=False, initial=True, label="Evidence")
    use_goals = forms.BooleanField(required=False, initial=True, label="Goals")
    use_reviews = forms.BooleanField(required=False, initial=False, label="Reviews")


# The words a person picks from (the stored values stay the API's).
BLOCK_KIND_LABELS = {Block.Kind.PROMPT_RESPONSE: "AI-written (from a prompt)",
                     Block.Kind.TEXT: "Text", Block.Kind.HEADING: "Heading"}


class BlockForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, BLOCK_KIND_LABELS[k]) for k in Block.Kind],
                             initial=Block.Kind.PROMPT_RESPONSE)
    prompt = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    content = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self) -> dict[str, str]:
        data = super().clean() or {}
        if data.get("kind") == Block.Kind.PROMPT_RESPONSE and not data.get("prompt", "").strip():
            self.add_error("prompt", "A prompt block needs a prompt.")
        return data


class ContextItemForm(forms.Form):
    kind = forms.ChoiceField(choices=ContextItem.Kind.choices)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
