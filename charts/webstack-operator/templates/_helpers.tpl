{{/* Names and labels shared by every template. */}}

{{- define "webstack-operator.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name: the release name alone when it already contains the chart name. */}}
{{- define "webstack-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
Name of cluster-scoped objects (ClusterRole, ClusterRoleBinding). They are shared by every
namespace, so the release namespace is part of the name: two releases of the same name in two
namespaces must not overwrite each other's bindings.
*/}}
{{- define "webstack-operator.clusterName" -}}
{{- printf "%s-%s" (include "webstack-operator.fullname" .) .Release.Namespace | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "webstack-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "webstack-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "webstack-operator.labels" -}}
{{ include "webstack-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "webstack-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "webstack-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "webstack-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Refuses value combinations that would install a broken or weaker operator. */}}
{{- define "webstack-operator.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) -}}
{{- fail "replicaCount > 1 needs leaderElection.enabled: replicas without a leader would reconcile the same WebStacks at once" -}}
{{- end -}}
{{- if eq .Values.logAgent.namespace .Release.Namespace -}}
{{- fail (printf "logAgent.namespace (%s) must differ from the release namespace: the agent namespace admits privileged pods, the operator's must not" .Values.logAgent.namespace) -}}
{{- end -}}
{{- end -}}
