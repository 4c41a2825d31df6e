/// The migrations built into the binary: the files of `migrations/` (linked into `Resources/migrations`), so an
/// installed `hammer` migrates from any directory. A new migration's two files are added here as well; a test checks
/// that this list and the directory hold the same files.
enum EmbeddedMigrations {
    /// File name and contents; SwiftPM names each embedded file after its name, with the leading digit replaced.
    static let files: [(name: String, contents: [UInt8])] = [
        ("000001_initial_schema.down.sql", PackageResources._00001_initial_schema_down_sql),
        ("000001_initial_schema.up.sql", PackageResources._00001_initial_schema_up_sql),
        ("000002_publish_procedure.down.sql", PackageResources._00002_publish_procedure_down_sql),
        ("000002_publish_procedure.up.sql", PackageResources._00002_publish_procedure_up_sql),
        ("000003_claim_by_subscription.down.sql", PackageResources._00003_claim_by_subscription_down_sql),
        ("000003_claim_by_subscription.up.sql", PackageResources._00003_claim_by_subscription_up_sql),
        ("000004_delivery_options.down.sql", PackageResources._00004_delivery_options_down_sql),
        ("000004_delivery_options.up.sql", PackageResources._00004_delivery_options_up_sql),
        ("000005_endpoint_health.down.sql", PackageResources._00005_endpoint_health_down_sql),
        ("000005_endpoint_health.up.sql", PackageResources._00005_endpoint_health_up_sql),
        ("000006_callbacks.down.sql", PackageResources._00006_callbacks_down_sql),
        ("000006_callbacks.up.sql", PackageResources._00006_callbacks_up_sql),
        ("000007_batch_idempotency_outbox.down.sql", PackageResources._00007_batch_idempotency_outbox_down_sql),
        ("000007_batch_idempotency_outbox.up.sql", PackageResources._00007_batch_idempotency_outbox_up_sql),
        ("000008_attempt_minutes.down.sql", PackageResources._00008_attempt_minutes_down_sql),
        ("000008_attempt_minutes.up.sql", PackageResources._00008_attempt_minutes_up_sql),
        ("000009_byte_order_ids.down.sql", PackageResources._00009_byte_order_ids_down_sql),
        ("000009_byte_order_ids.up.sql", PackageResources._00009_byte_order_ids_up_sql),
        ("000010_delivery_queue.down.sql", PackageResources._00010_delivery_queue_down_sql),
        ("000010_delivery_queue.up.sql", PackageResources._00010_delivery_queue_up_sql),
        ("000011_schema_compatibility.down.sql", PackageResources._00011_schema_compatibility_down_sql),
        ("000011_schema_compatibility.up.sql", PackageResources._00011_schema_compatibility_up_sql),
        ("000012_attempt_request_bodies.down.sql", PackageResources._00012_attempt_request_bodies_down_sql),
        ("000012_attempt_request_bodies.up.sql", PackageResources._00012_attempt_request_bodies_up_sql),
        ("000013_time_partitions.down.sql", PackageResources._00013_time_partitions_down_sql),
        ("000013_time_partitions.up.sql", PackageResources._00013_time_partitions_up_sql),
        ("000014_narrow_hot_path.down.sql", PackageResources._00014_narrow_hot_path_down_sql),
        ("000014_narrow_hot_path.up.sql", PackageResources._00014_narrow_hot_path_up_sql),
    ]
}
