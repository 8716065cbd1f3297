from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ai', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='generationlog',
            name='wait_ms',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='generationlog',
            name='limiter_key',
            field=models.CharField(blank=True, default='', max_length=100),
        ),
    ]
