from django.urls import path

from competitors import api, views

urlpatterns = [
    # API
    path("api/decisions", api.DecisionListCreate.as_view(), name="decisions"),
    path("api/decisions/<uuid:decision_id>", api.DecisionDetail.as_view(), name="decision"),
    path("api/decisions/<uuid:decision_id>/options", api.OptionListCreate.as_view(),
         name="decision-options"),
    path("api/decisions/<uuid:decision_id>/options/<uuid:option_id>", api.OptionDetail.as_view(),
         name="decision-option"),
    path("api/decisions/<uuid:decision_id>/competitors", api.CompetitorProfileList.as_view(),
         name="decision-competitors"),
    path("api/decisions/<uuid:decision_id>/competitors/<uuid:profile_id>",
         api.CompetitorProfileDetail.as_view(), name="decision-competitor"),
    path("api/decisions/<uuid:decision_id>/market-research", api.MarketResearchList.as_view(),
         name="decision-market-research"),
    path("api/decisions/<uuid:decision_id>/evidence", api.EvidenceItemList.as_view(),
         name="decision-evidence"),
    path("api/decisions/<uuid:decision_id>/outputs", api.OutputList.as_view(),
         name="decision-outputs"),
    path("api/decisions/<uuid:decision_id>/outputs/<uuid:output_id>", api.OutputDetail.as_view(),
         name="decision-output"),
    path("api/decisions/<uuid:decision_id>/jobs", api.DecisionJobList.as_view(),
         name="decision-jobs"),
    # Pages
    path("decisions/", views.decision_list, name="decision-list"),
    path("decisions/<uuid:decision_id>", views.decision_page, name="decision-page"),
    path("decisions/<uuid:decision_id>/competitors/<uuid:profile_id>",
         views.competitor_profile_page, name="competitor-profile-page"),
    path("demo-site/northwind/", views.demo_site, name="demo-site"),
]
