// What a dashboard file is checked against: @grafana/schema's Dashboard, with the options and
// custom field config of each panel type used checked against that panel's own schema, in
// the form JSON takes: Grafana's string enums (ThresholdsMode, MappingType, ...) become their
// strings, and panel options may be partial because Grafana fills in a panel's defaults.
import type { Dashboard, FieldConfig, FieldConfigSource, Panel, RowPanel } from "@grafana/schema";
import type * as stat from "@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen";
import type * as table from "@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen";
import type * as timeseries from "@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen";

type Json<T> = 0 extends 1 & T
  ? T // `any` stays `any`
  : T extends string
    ? `${T}`
    : T extends ReadonlyArray<infer Item>
      ? Array<Json<Item>>
      : T extends object
        ? { [Key in keyof T]: Json<T[Key]> }
        : T;

type Partially<T> = T extends ReadonlyArray<infer Item>
  ? Array<Partially<Item>>
  : T extends object
    ? { [Key in keyof T]?: Partially<T[Key]> }
    : T;

type PanelOf<Kind extends string, Options, Custom> = Omit<Panel, "type" | "options" | "fieldConfig"> & {
  type: Kind;
  options?: Partially<Options>;
  fieldConfig?: Omit<FieldConfigSource, "defaults"> & {
    defaults: Omit<FieldConfig, "custom"> & { custom?: Partially<Custom> };
  };
};

type KnownPanel =
  | PanelOf<"timeseries", timeseries.Options, timeseries.FieldConfig>
  | PanelOf<"stat", stat.Options, Record<string, never>>
  | PanelOf<"table", table.Options, table.FieldConfig>
  | RowPanel;

export type DashboardJson = Json<Omit<Dashboard, "panels"> & { panels?: KnownPanel[] }>;
