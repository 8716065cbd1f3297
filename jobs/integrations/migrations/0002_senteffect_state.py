import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """Effects become two-phase: `sending` (in doubt) before the request, `sent` after.

    Existing rows were written after their effect succeeded: they are `sent`.
    """

    dependencies = [
        ("integrations", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="senteffect",
            name="state",
            field=models.CharField(
                choices=[("sending", "in doubt (sending)"), ("sent", "sent")],
                default="sent",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="senteffect",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
    ]
