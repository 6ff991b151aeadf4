module webstack-operator/hack/images/mysqld-exporter-compat

go 1.26
