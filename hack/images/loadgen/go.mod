module webstack-operator/hack/images/loadgen

go 1.26
