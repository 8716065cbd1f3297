import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("warmup", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="comparison",
            name="series_start",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="comparison",
            name="created_by",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                related_name="+", to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="comparison",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.RenameField(
            model_name="cachedforecast", old_name="created_at", new_name="computed_at"
        ),
        migrations.AlterField(
            model_name="cachedforecast", name="computed_at", field=models.DateTimeField()
        ),
        migrations.RenameField(
            model_name="cachedinsight", old_name="created_at", new_name="computed_at"
        ),
        migrations.AlterField(
            model_name="cachedinsight", name="computed_at", field=models.DateTimeField()
        ),
        migrations.AlterField(
            model_name="cachedforecast",
            name="comparison",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+",
                to="warmup.comparison",
            ),
        ),
        migrations.AlterField(
            model_name="cachedinsight",
            name="comparison",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+",
                to="warmup.comparison",
            ),
        ),
        migrations.AddField(
            model_name="cachedinsight",
            name="provider",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name="cachedinsight",
            name="model",
            field=models.CharField(blank=True, max_length=100),
        ),
    ]
