"""The admin's look: its pages keep their width for the lists (the jobs list fits a
1280 px screen with the filters beside it) instead of a permanent navigation column;
the breadcrumbs and the home page still lead everywhere."""

from django.contrib import admin

admin.site.enable_nav_sidebar = False
admin.site.site_header = "Plinth Jobs administration"
admin.site.site_title = "Plinth Jobs"
admin.site.index_title = "Administration"
