from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("territory", "0005_base_unit_complexity_inputs"),
    ]

    operations = [
        migrations.AddField(
            model_name="divisionsettings",
            name="snap_tolerance_m",
            field=models.FloatField(default=0.0, verbose_name="Snapping tolerance (m)"),
        ),
        migrations.AddField(
            model_name="divisionsettings",
            name="search_seconds",
            field=models.FloatField(default=3.0, verbose_name="Search time budget (s)"),
        ),
        migrations.AddField(
            model_name="divisionsettings",
            name="keep_weight",
            field=models.FloatField(
                default=1.0, verbose_name="Re-division: cost of moving a base unit"
            ),
        ),
        migrations.AddField(
            model_name="divisionsettings",
            name="max_moved_units",
            field=models.PositiveIntegerField(
                blank=True,
                default=None,
                null=True,
                verbose_name="Re-division: most base units moved",
            ),
        ),
    ]
