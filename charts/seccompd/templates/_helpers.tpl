{{/* Names as `helm create` makes them: release "seccompd" gives "seccompd", like deploy/. */}}
{{- define "seccompd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "seccompd.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The same labels as deploy/: no chart version in them, so an upgrade does not relabel, and
     helm adds its own ownership metadata (managed-by, meta.helm.sh/*) when it installs. */}}
{{- define "seccompd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "seccompd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "seccompd.labels" -}}
{{ include "seccompd.selectorLabels" . }}
{{- end }}

{{/* The recorder agent's: a name of its own, so that seccompd's DaemonSet and its metrics Service
     never select the recorder's pods. */}}
{{- define "seccompd.recorderSelectorLabels" -}}
app.kubernetes.io/name: {{ include "seccompd.name" . }}-recorder
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "seccompd.recorderName" -}}
{{- printf "%s-recorder" (include "seccompd.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{- define "seccompd.serviceAccountName" -}}
{{- default (include "seccompd.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{/* Namespaces read as admin sources: the release namespace unless listed. */}}
{{- define "seccompd.namespaces" -}}
{{- if .Values.namespaces }}
{{- toYaml .Values.namespaces }}
{{- else }}
{{- toYaml (list .Release.Namespace) }}
{{- end }}
{{- end }}

{{- define "seccompd.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* `seccompd run` arguments, in the order deploy/overlays/all appends them. */}}
{{- define "seccompd.args" -}}
- run
- --source=kube
- --root=/var/lib/kubelet/seccomp
- --listen=:{{ int .Values.metrics.port }}
- --log-format={{ .Values.logFormat }}
{{- range .Values.namespaces }}
- --namespace={{ . }}
{{- end }}
{{- if and .Values.tenantNamespaces (not .Values.namespaces) }}
{{- /* With a tenant given, seccompd watches its own namespace only if told to. */}}
- --namespace=$(POD_NAMESPACE)
{{- end }}
{{- range .Values.tenantNamespaces }}
- --tenant-namespace={{ . }}
{{- end }}
{{- with .Values.selector }}
- --selector={{ . }}
{{- end }}
{{- if .Values.secrets }}
- --secrets
{{- end }}
{{- if .Values.nodeGating.enabled }}
{{- with .Values.nodeGating.taintKey }}
- --remove-startup-taint={{ . }}
{{- end }}
{{- if .Values.nodeGating.condition }}
- --node-condition
{{- end }}
{{- end }}
{{- if .Values.recorder.enabled }}
- --recording-profile
{{- end }}
{{- with .Values.runtime }}
- --runtime={{ . }}
{{- end }}
{{- with .Values.runcVersion }}
- --runc-version={{ . }}
{{- end }}
{{- with .Values.deleteGrace }}
- --delete-grace={{ . }}
{{- end }}
{{- with .Values.extraArgs }}
{{ toYaml . }}
{{- end }}
{{- end }}
