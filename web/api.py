"""Markdown from a model, rendered and sanitized on the server for pages that update
without a reload (the report editor): the same renderer as the |markdown filter."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from web.templatetags.ui import is_offline_text, render_markdown, without_offline_mark


class MarkdownInput(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=200_000)


class RenderMarkdown(APIView):
    @extend_schema(
        summary="Render a model's Markdown as safe HTML",
        request=MarkdownInput,
        responses={200: inline_serializer("RenderedMarkdown", {
            "html": serializers.CharField(), "offline": serializers.BooleanField()})},
    )
    def post(self, request: Request) -> Response:
        data = MarkdownInput(data=request.data)
        data.is_valid(raise_exception=True)
        text = data.validated_data["text"]
        return Response({"html": render_markdown(without_offline_mark(text)),
                         "offline": is_offline_text(text)})
